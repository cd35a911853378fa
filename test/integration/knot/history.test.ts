/**
 * check --history FILE against Knot: runs recorded in SQLite, what changed between them (records,
 * DKIM keys, findings, SPF lookups, DNS failures), --changes and its exit code, `maildns history`,
 * shards sharing one file, a locked file, and runs that never completed.
 */
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditDomain } from '../../../src/check/audit.js';
import { DnsResolver } from '../../../src/dns/resolver.js';
import { startServer } from '../../../src/dns/server.js';
import { startRun } from '../../../src/history/record.js';
import { CLI, runCli } from '../../helpers/cli.js';
import { startKnot, type KnotServer } from '../../helpers/knot.js';

const ed25519 = (): string => (generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'der' }) as Buffer).subarray(-32).toString('base64');
const KEY_1 = ed25519();
const KEY_2 = ed25519();

interface Shape {
  spf?: string[];
  dmarc?: string | null;
  key?: string;
}

function zone(apex: string, s: Shape = {}): string {
  return (
    [
      `$ORIGIN ${apex}.`,
      '$TTL 3600',
      `@ IN SOA ns.${apex}. h.${apex}. 1 3600 600 604800 300`,
      `@ IN NS ns.${apex}.`,
      `@ IN MX 10 mail.${apex}.`,
      'mail IN A 192.0.2.25',
      ...(s.spf ?? ['v=spf1 mx -all']).map((r) => `@ IN TXT "${r}"`),
      ...(s.dmarc === null ? [] : [`_dmarc IN TXT "${s.dmarc ?? `v=DMARC1; p=reject; rua=mailto:dmarc@${apex}`}"`]),
      `mail._domainkey IN TXT "v=DKIM1; k=ed25519; p=${s.key ?? KEY_1}"`,
    ].join('\n') + '\n'
  );
}

const PARENT = '$ORIGIN example.\n$TTL 3600\n@ IN SOA ns.example. h.example. 1 3600 600 604800 300\n@ IN NS ns.example.\n';
const PROVIDER = zone('provider.example') + '_spf IN TXT "v=spf1 ip4:198.51.100.0/24 -all"\n_spf2 IN TXT "v=spf1 ip4:203.0.113.0/24 -all"\n';
const BEFORE: Record<string, string> = {
  example: PARENT,
  'provider.example': PROVIDER,
  'steady.example': zone('steady.example'),
  'rotate.example': zone('rotate.example'),
  'grow.example': zone('grow.example', { spf: ['v=spf1 mx include:_spf.provider.example -all'] }),
  'decay.example': zone('decay.example'),
  'mend.example': zone('mend.example', { spf: ['v=spf1 mx -all', 'v=spf1 a -all'] }),
};
const AFTER: Record<string, string> = {
  'rotate.example': zone('rotate.example', { key: KEY_2 }),
  'grow.example': zone('grow.example', { spf: ['v=spf1 mx include:_spf.provider.example include:_spf2.provider.example -all'] }),
  'decay.example': zone('decay.example', { dmarc: null }),
  'mend.example': zone('mend.example', { spf: ['v=spf1 mx -all'] }),
};
// gone.invalid is served by nobody: Knot refuses it, a DNS failure in every run.
const DOMAINS = ['steady.example', 'rotate.example', 'grow.example', 'decay.example', 'mend.example', 'gone.invalid'];

interface Change {
  domain: string;
  kind: string;
  direction: string;
  subject: string;
  message: string;
}

describe('check --history against Knot', () => {
  let knot: KnotServer;
  let dir: string;
  let ns: string;
  let list: string;
  const db = (): string => path.join(dir, 'checks.db');
  beforeAll(async () => {
    knot = await startKnot(BEFORE);
    ns = `127.0.0.1:${knot.port}`;
    dir = mkdtempSync(path.join(tmpdir(), 'maildns-history-'));
    list = path.join(dir, 'domains.txt');
    writeFileSync(list, `${DOMAINS.join('\n')}\n`);
  });
  afterAll(async () => knot?.stop());
  const check = (...extra: string[]): ReturnType<typeof runCli> => runCli(['check', '--domains-file', list, '-s', 'mail', '--nameserver', ns, '--timeout', '500', '--history', db(), ...extra]);

  it('records runs and tells what changed between them; --changes exits 1 only when something got worse', async () => {
    const first = await check('--changes', '--json');
    expect(first.stderr).toBe('');
    expect(first.code).toBe(1);
    const firstDoc = JSON.parse(first.stdout) as { changes: Change[]; summary: { firstSeen: number; worse: number } };
    // Only the domains whose first result is not a pass are news.
    expect(firstDoc.changes.map((c) => [c.domain, c.kind, c.direction])).toEqual([
      ['mend.example', 'first-seen', 'worse'],
      ['gone.invalid', 'first-seen', 'worse'],
    ]);
    expect(firstDoc.summary).toMatchObject({ firstSeen: 4, worse: 2 });

    for (const [apex, text] of Object.entries(AFTER)) knot.updateZone(apex, text);

    const second = await check('--changes', '--json');
    expect(second.code).toBe(1);
    const changes = (JSON.parse(second.stdout) as { changes: Change[] }).changes;
    const seen = changes.map((c) => `${c.domain} ${c.kind} ${c.direction} ${c.subject}`);
    expect(seen).toEqual(
      expect.arrayContaining([
        'rotate.example dkim-key neutral DKIM mail',
        'grow.example record neutral SPF',
        'grow.example spf-lookups worse SPF',
        'decay.example finding-appeared worse dmarc.no-record',
        'decay.example status worse domain',
        'mend.example record neutral SPF',
        'mend.example finding-cleared better spf.multiple-records',
        'mend.example status better domain',
        'gone.invalid dns-failure-persists worse DMARC',
      ]),
    );
    expect(seen.filter((s) => s.startsWith('steady.example'))).toEqual([]);
    expect(changes.find((c) => c.kind === 'spf-lookups')!.message).toBe('SPF lookups rose from 2 to 3 (the limit is 10)');
    expect(changes.find((c) => c.kind === 'dkim-key')!.message).toContain('the key was replaced');

    // The same text, one line per change, worse ones marked.
    const third = await runCli(['check', ...DOMAINS.slice(0, 5), '-s', 'mail', '--nameserver', ns, '--history', db(), '--changes']);
    expect(third.code).toBe(0); // decay.example still fails, but nothing got worse since the last run
    expect(third.stdout).toBe('0 changes since the last run over 5 domains\n');
    const quiet = await runCli(['check', ...DOMAINS.slice(0, 5), '-s', 'mail', '--nameserver', ns, '--history', db(), '--changes', '--quiet']);
    expect([quiet.code, quiet.stdout]).toEqual([0, '']);
  });

  it('maildns history shows the changes run by run, for all domains or one, since a date, as text or JSON', async () => {
    const all = await runCli(['history', '--history', db()]);
    expect(all.code).toBe(0);
    expect(all.stdout).toMatch(/^run 2, \d{4}-\d\d-\d\d \d\d:\d\d UTC \(6 domains: 4 pass, 1 fail, 1 DNS\?\)$/m);
    expect(all.stdout).toMatch(/^ {2}WORSE {3}grow\.example +SPF lookups rose from 2 to 3 \(the limit is 10\)$/m);
    expect(all.stdout).toMatch(/^ {2}better {2}mend\.example +cleared error: mend\.example: /m);
    expect(all.stdout).toMatch(/in 4 runs from .* UTC; 4 passing domains recorded for the first time\n$/);

    const one = await runCli(['history', 'Rotate.Example', '--history', db(), '--json']);
    expect(one.code).toBe(0);
    const doc = JSON.parse(one.stdout) as { domain: string; changes: (Change & { run: number })[]; results: { run: number; status: string }[] };
    expect(doc.domain).toBe('rotate.example');
    expect(doc.results.map((r) => r.status)).toEqual(['pass', 'pass', 'pass', 'pass']);
    expect(doc.changes.map((c) => [c.run, c.kind])).toEqual([
      [1, 'first-seen'],
      [2, 'dkim-key'],
    ]);

    const later = await runCli(['history', '--history', db(), '--since', '2999-01-01']);
    expect(later.code).toBe(0);
    expect(later.stdout).toBe('0 changes in no complete run\n');
    const worse = await runCli(['history', '--history', db(), '--worse', '--json']);
    expect((JSON.parse(worse.stdout) as { changes: Change[] }).changes.every((c) => c.direction === 'worse')).toBe(true);

    const unknown = await runCli(['history', 'never.example', '--history', db()]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe(`maildns: ${db()}: has no recorded result for never.example; it holds the domains that \`maildns check --history\` checked\n`);
    const badDate = await runCli(['history', '--history', db(), '--since', 'yesterday']);
    expect(badDate.code).toBe(2);
    expect(badDate.stderr).toContain('--since: "yesterday" is not a date');
    const noFile = await runCli(['history', '--history', path.join(dir, 'none.db')]);
    expect(noFile.code).toBe(2);
    expect(noFile.stderr).toContain('none.db: no such history database');
    expect(existsSync(path.join(dir, 'none.db'))).toBe(false);
  });

  it('shards side by side write one history file; every run is recorded whole', async () => {
    const shared = path.join(dir, 'shards.db');
    const runs = await Promise.all([0, 1, 2].map((i) => runCli(['check', '--domains-file', list, '-s', 'mail', '--nameserver', ns, '--timeout', '500', '--history', shared, '--shard', `${i}/3`, '--json'])));
    for (const r of runs) {
      expect(r.stderr).toBe('');
      expect([0, 1]).toContain(r.code);
    }
    const sqlite = new Database(shared, { readonly: true });
    try {
      const rows = sqlite.prepare('SELECT shard_index, shard_count, complete, domains FROM runs ORDER BY shard_index').all() as { shard_index: number; shard_count: number; complete: number; domains: number }[];
      expect(rows.map((r) => [r.shard_index, r.shard_count, r.complete])).toEqual([
        [0, 3, 1],
        [1, 3, 1],
        [2, 3, 1],
      ]);
      expect(rows.reduce((n, r) => n + r.domains, 0)).toBe(DOMAINS.length);
      const recorded = sqlite.prepare('SELECT domain FROM results ORDER BY domain').pluck().all();
      expect(recorded).toEqual([...DOMAINS].sort());
      expect(sqlite.pragma('journal_mode', { simple: true })).toBe('wal');
    } finally {
      sqlite.close();
    }
  });

  it('a history file locked by another program: exit 2 after --history-wait, no DNS asked, no report written', async () => {
    const locked = path.join(dir, 'locked.db');
    expect((await runCli(['check', 'steady.example', '--nameserver', ns, '--history', locked])).code).toBe(0);
    const holder = new Database(locked);
    holder.exec('BEGIN EXCLUSIVE');
    try {
      const out = path.join(dir, 'locked-report.json');
      const r = await runCli(['check', 'steady.example', '--nameserver', ns, '--history', locked, '--history-wait', '300', '--json', '-o', out]);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(
        `maildns: ${locked}: the history database is locked by another program (waited 0.3 s): another maildns run or an open sqlite3 session is writing it; run again when it is done, wait longer, or give this run its own history file\n`,
      );
      expect(existsSync(out)).toBe(false);
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
    expect((await runCli(['check', 'steady.example', '--nameserver', ns, '--history', locked])).code).toBe(0);
  });

  it('a run that never completed (crashed mid-way) loses no earlier run and is never compared', async () => {
    const file = path.join(dir, 'crash.db');
    expect((await runCli(['check', 'steady.example', 'decay.example', '-s', 'mail', '--nameserver', ns, '--history', file])).code).toBe(1);
    // A second run writes some results in committed batches and then dies before its last transaction.
    const resolver = new DnsResolver({ servers: [{ host: knot.host, port: knot.port }], timeoutMs: 1000 });
    const dying = startRun(file, { failOn: 'error', selectors: ['no-such-selector'] }, { batchSize: 1 });
    dying.record(await auditDomain(resolver, 'steady.example', { selectors: ['no-such-selector'], failOn: 'error' }));
    dying.record(await auditDomain(resolver, 'decay.example', { selectors: ['no-such-selector'], failOn: 'error' }));
    dying.abandon();
    const sqlite = new Database(file, { readonly: true });
    expect(sqlite.prepare('SELECT id, complete, (SELECT count(*) FROM results WHERE run_id = runs.id) AS n FROM runs ORDER BY id').all()).toEqual([
      { id: 1, complete: 1, n: 2 },
      { id: 2, complete: 0, n: 2 },
    ]);
    sqlite.close();
    // The next run compares with run 1, not with the half-written run 2 (whose DKIM selector failed everywhere).
    const next = await runCli(['check', 'steady.example', 'decay.example', '-s', 'mail', '--nameserver', ns, '--history', file, '--changes']);
    expect(next.stdout).toBe('0 changes since the last run over 2 domains\n');
    expect(next.code).toBe(0);
    const shown = await runCli(['history', '--history', file]);
    expect(shown.stdout).toContain('1 run that did not complete (stopped or crashed) left out');
  });

  it('SIGINT or SIGKILL mid-run: the run stays incomplete, earlier runs are kept; SIGINT says so', async () => {
    const file = path.join(dir, 'interrupted.db');
    expect((await runCli(['check', 'steady.example', '--nameserver', ns, '--history', file])).code).toBe(0);
    // A server that never answers keeps the run waiting until the signal.
    const silent = await startServer({ records: [], zones: [''], silent: ['steady.example', '_dmarc.steady.example', '_dmarc.example'] });
    const runs = (): { id: number; complete: number }[] => {
      const s = new Database(file, { readonly: true });
      try {
        return s.prepare('SELECT id, complete FROM runs ORDER BY id').all() as { id: number; complete: number }[];
      } finally {
        s.close();
      }
    };
    try {
      for (const signal of ['SIGINT', 'SIGKILL'] as const) {
        const before = runs().length;
        const child = spawn(process.execPath, [CLI, 'check', 'steady.example', '--nameserver', `127.0.0.1:${silent.port}`, '--timeout', '10000', '--history', file, '--format', 'ndjson'], { stdio: ['ignore', 'pipe', 'pipe'] });
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        const exited = new Promise<[number | null, string | null]>((resolve) => child.on('close', (code, sig) => resolve([code, sig])));
        // The run's row is written before any question is asked: wait for it, then stop the run.
        const deadline = Date.now() + 20_000;
        while (runs().length === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
        child.kill(signal);
        if (signal === 'SIGINT') {
          expect(await exited).toEqual([130, null]);
          expect(stderr).toBe(`maildns: stopped by SIGINT: after 0 domains; the run is not recorded as complete in ${file} (earlier runs are kept)\n`);
        } else {
          expect(await exited).toEqual([null, 'SIGKILL']);
        }
      }
    } finally {
      await silent.close();
    }
    expect(runs()).toEqual([
      { id: 1, complete: 1 },
      { id: 2, complete: 0 },
      { id: 3, complete: 0 },
    ]);
    const shown = await runCli(['history', 'steady.example', '--history', file, '--json']);
    expect((JSON.parse(shown.stdout) as { results: { run: number }[] }).results.map((r) => r.run)).toEqual([1]);
  });

  it('a file that is not a history database, or one from a newer maildns: exit 2 with the fix', async () => {
    const text = path.join(dir, 'notes.txt');
    writeFileSync(text, 'these are not the droids\n'.repeat(100));
    const r = await runCli(['check', 'steady.example', '--nameserver', ns, '--history', text]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`maildns: ${text}: is not a maildns history database (not SQLite, or damaged); give another file name, and keep this one for inspection\n`);
    const newer = path.join(dir, 'newer.db');
    const s = new Database(newer);
    s.pragma('user_version = 99');
    s.close();
    const n = await runCli(['history', '--history', newer]);
    expect(n.code).toBe(2);
    expect(n.stderr).toContain(`${newer}: was written by a newer maildns (history schema 99; this one knows up to 1)`);
  });
});
