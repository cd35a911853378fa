/**
 * Text reports of the built CLI against records full of terminal escapes and carriage returns,
 * served by the embedded DNS server on 127.0.0.1: what DNS sent is shown (control characters as
 * \xHH), never obeyed; the JSON reports keep it exact.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../../src/dns/server.js';
import { runCli } from '../../helpers/cli.js';

/** Clears the screen, turns the text green and sends the cursor back to overwrite the line. */
const HOSTILE = '\x1b[2J\x1b[32mPASS\r';
const SHOWN = '\\x1b[2J\\x1b[32mPASS\\x0d';
const SPF = `v=spf1 ip4:192.0.2.25 -all ${HOSTILE}`;
const DMARC = `v=DMARC1; p=reject; rua=mailto:d@escape.test${HOSTILE}`;
/** Control characters other than the newline that ends lines. */
const CONTROL = /[\x00-\x09\x0b-\x1f\x7f-\x9f]/;

let server: RunningServer;
let ns: string;
let dir: string;

beforeAll(async () => {
  server = await startServer({
    zones: ['escape.test'],
    records: [
      { name: 'escape.test', type: 'TXT', ttl: 300, value: SPF },
      { name: '_dmarc.escape.test', type: 'TXT', ttl: 300, value: DMARC },
    ],
  });
  ns = `${server.host}:${server.port}`;
  dir = mkdtempSync(path.join(tmpdir(), 'maildns-control-'));
  writeFileSync(path.join(dir, 'maildns.yaml'), 'version: 1\ndomains:\n  - domain: escape.test\n    spf: { ip4: [192.0.2.25], all: "-all" }\n    dmarc: { p: reject }\n');
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('records with control characters in text reports', () => {
  it('spf: the include tree shows the published record escaped', async () => {
    const r = await runCli(['spf', 'escape.test', '--nameserver', ns]);
    expect(r.stdout).toContain(`"${SPF.replace(HOSTILE, SHOWN)}"`);
    expect(r.stdout).not.toMatch(CONTROL);
  });

  it('spf --json keeps the record exact', async () => {
    const r = await runCli(['spf', 'escape.test', '--nameserver', ns, '--json']);
    expect(JSON.stringify(JSON.parse(r.stdout))).toContain(JSON.stringify(SPF).slice(1, -1));
  });

  it('dmarc: the record, its tags and the report destinations are shown escaped', async () => {
    const r = await runCli(['dmarc', 'escape.test', '--nameserver', ns]);
    expect(r.stdout).toContain(`"${DMARC.replace(HOSTILE, SHOWN)}"`);
    expect(r.stdout).toContain(`rua=mailto:d@escape.test${SHOWN}`);
    expect(r.stdout).not.toMatch(CONTROL);
  });

  it('verify-message: the DMARC record of the From domain is shown escaped', async () => {
    const message = path.join(dir, 'message.eml');
    writeFileSync(message, 'From: Alice <alice@escape.test>\r\nTo: bob@example.net\r\nSubject: hello\r\n\r\nHello Bob.\r\n');
    const r = await runCli(['verify-message', message, '--nameserver', ns]);
    expect(r.stdout).toContain(`record _dmarc.escape.test: "${DMARC.replace(HOSTILE, SHOWN)}"`);
    expect(r.stdout).not.toMatch(CONTROL);
  });

  it('verify: the published values the findings quote are shown escaped', async () => {
    const r = await runCli(['verify', '--authoritative', ns, '--nameserver', ns], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(SHOWN);
    expect(r.stdout).not.toMatch(CONTROL);
  });
});
