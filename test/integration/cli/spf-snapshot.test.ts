/**
 * `maildns spf flatten --snapshot/--compare` and examples/cron/maildns-spf-watch, against embedded
 * DNS servers that play the providers before and after they change their records.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../../src/dns/server.js';
import type { DnsRecord } from '../../../src/records.js';
import { flattenSpf, type FlattenOptions } from '../../../src/spf/flatten.js';
import { makeSnapshot, writeSnapshot, type SpfSnapshot } from '../../../src/spf/snapshot.js';
import { CLI, runCli } from '../../helpers/cli.js';
import { LocalResolver } from '../../helpers/local-resolver.js';

const txt = (name: string, value: string): DnsRecord => ({ name, type: 'TXT', ttl: 300, value });
const SOURCE = 'v=spf1 mx include:_spf.prov-a.test include:prov-b.test -all';

/** The providers as they are when the snapshot is taken. */
const before: DnsRecord[] = [
  txt('example.test', SOURCE),
  txt('_spf.prov-a.test', 'v=spf1 ip4:192.0.2.0/24 ip4:198.51.100.0/25 include:_v6.prov-a.test ~all'),
  txt('_v6.prov-a.test', 'v=spf1 ip6:2001:db8:a::/48 -all'),
  txt('prov-b.test', 'v=spf1 ip4:203.0.113.0/26 a:out.prov-b.test -all'),
  txt('other.test', 'v=spf1 ip4:192.0.2.99 -all'),
];
const replace = (records: DnsRecord[], changes: DnsRecord[]): DnsRecord[] => [...records.filter((r) => !changes.some((c) => c.name === r.name)), ...changes];

let servers: { before: RunningServer; textOnly: RunningServer; moved: RunningServer; silent: RunningServer };
const ns = (s: RunningServer): string => `${s.host}:${s.port}`;
let work: string;
let n = 0;
const fresh = (): string => path.join(work, `snap-${++n}.json`);
const tempLeft = (dir: string): string[] => readdirSync(dir).filter((f) => f.endsWith('.tmp'));

beforeAll(async () => {
  const start = (records: DnsRecord[], silent: string[] = []): Promise<RunningServer> => startServer({ records, zones: [''], silent });
  servers = {
    before: await start(before),
    // prov-b writes its record differently (host bits set, ?all): the same network.
    textOnly: await start(replace(before, [txt('prov-b.test', 'v=spf1 ip4:203.0.113.7/26 a:out.prov-b.test ?all')])),
    // prov-a swaps a range, drops its IPv6 include and adds another; the user has meanwhile
    // published the flattened record, which --compare must not mistake for the source.
    moved: await start(
      replace(before, [
        txt('example.test', 'v=spf1 mx ip4:192.0.2.0/24 ip4:198.51.100.0/25 ip6:2001:db8:a::/48 ip4:203.0.113.0/26 a:out.prov-b.test -all'),
        txt('_spf.prov-a.test', 'v=spf1 ip4:192.0.2.0/24 ip4:198.51.100.128/25 include:_extra.prov-a.test ~all'),
        txt('_extra.prov-a.test', 'v=spf1 ip4:233.252.0.0/24 -all'),
      ]),
    ),
    silent: await start(before, ['_spf.prov-a.test']),
  };
  work = mkdtempSync(path.join(tmpdir(), 'maildns-spf-snapshot-'));
});
afterAll(async () => {
  await Promise.all(Object.values(servers ?? {}).map((s) => s.close()));
});

/** The options `spf flatten --snapshot` flattens with when given none. */
const CLI_DEFAULTS: FlattenOptions = { maxLength: 255, chainPrefix: '_spf' };
const snapshotNow = async (domain: string): Promise<SpfSnapshot> => makeSnapshot(await flattenSpf(new LocalResolver(servers.before), domain, CLI_DEFAULTS), CLI_DEFAULTS);
const withoutTime = ({ takenAt: _, ...rest }: SpfSnapshot): Omit<SpfSnapshot, 'takenAt'> => rest;

/**
 * A snapshot file as `spf flatten --snapshot` writes it, made in this process: the tests below are
 * about --compare, and the first one checks that the CLI writes exactly this.
 */
async function snapshotOf(domain = 'example.test'): Promise<string> {
  const file = fresh();
  writeSnapshot(file, await snapshotNow(domain));
  return file;
}

describe('maildns spf flatten --snapshot / --compare', () => {
  it('writes a versioned snapshot next to the normal output, and compares unchanged with exit 0', async () => {
    const file = fresh();
    const r = await runCli(['spf', 'flatten', 'example.test', '--snapshot', file, '--nameserver', ns(servers.before)]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('example.test. 3600 IN TXT "v=spf1 mx ip4:192.0.2.0/24 ip4:198.51.100.0/25 ip6:2001:db8:a::/48 ip4:203.0.113.0/26 a:out.prov-b.test -all"');
    expect(r.stderr).toContain(`snapshot saved to ${file}`);
    const snap = JSON.parse(readFileSync(file, 'utf8')) as SpfSnapshot;
    expect(snap).toMatchObject({ format: 'maildns-spf-snapshot', version: 1, domain: 'example.test', original: SOURCE });
    expect(Date.parse(snap.takenAt)).not.toBeNaN();
    expect(snap.records[0]!.value).toMatch(/^v=spf1 mx ip4:192\.0\.2\.0\/24/);
    expect(snap.dependencies).toEqual([
      { domain: '_spf.prov-a.test', via: ['include:_spf.prov-a.test'], record: before[1]!.value, ttl: 300, ranges: ['ip4:192.0.2.0/24', 'ip4:198.51.100.0/25'] },
      { domain: '_v6.prov-a.test', via: ['include:_v6.prov-a.test'], record: before[2]!.value, ttl: 300, ranges: ['ip6:2001:db8:a::/48'] },
      { domain: 'prov-b.test', via: ['include:prov-b.test'], record: before[3]!.value, ttl: 300, ranges: ['ip4:203.0.113.0/26'] },
    ]);
    // What the other tests start from (snapshotOf) is what the CLI writes, to the byte but the time.
    expect(withoutTime(snap)).toEqual(withoutTime(await snapshotNow('example.test')));
    const [c, j] = await Promise.all([
      runCli(['spf', 'flatten', 'example.test', '--compare', file, '--nameserver', ns(servers.before)]),
      runCli(['spf', 'flatten', 'example.test', '--compare', file, '--json', '--nameserver', ns(servers.before)]),
    ]);
    expect(c.code).toBe(0);
    expect(c.stdout).toMatch(/^unchanged {2}example\.test: 3 upstream records, 4 ranges, as in the snapshot of /);
    expect(JSON.parse(j.stdout)).toMatchObject({ verdict: 'unchanged', dependencies: [], recordsChanged: false, updated: false });
  });

  it('a provider that adds and removes ranges gives exit 1, the diff per provider and the records to publish', async () => {
    const file = await snapshotOf();
    const saved = readFileSync(file, 'utf8');
    const [r, json] = await Promise.all([
      runCli(['spf', 'flatten', 'example.test', '--compare', file, '--nameserver', ns(servers.moved)]),
      runCli(['spf', 'flatten', 'example.test', '--compare', file, '--json', '--nameserver', ns(servers.moved)]),
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^CHANGED {2}example\.test/);
    expect(r.stdout).toContain('_spf.prov-a.test (include:_spf.prov-a.test): 1 added, 1 removed\n    + ip4:198.51.100.128/25\n    - ip4:198.51.100.0/25');
    expect(r.stdout).toContain('_extra.prov-a.test (include:_extra.prov-a.test): newly copied, 1 range\n    + ip4:233.252.0.0/24');
    expect(r.stdout).toContain('_v6.prov-a.test (include:_v6.prov-a.test): no longer copied\n    - ip6:2001:db8:a::/48');
    expect(r.stdout).not.toContain('prov-b.test (');
    expect(r.stdout).toContain('example.test. 3600 IN TXT "v=spf1 mx ip4:192.0.2.0/24 ip4:198.51.100.128/25 ip4:233.252.0.0/24 ip4:203.0.113.0/26 a:out.prov-b.test -all"');
    expect(r.stdout).toContain(`--compare ${file} --update`);
    expect(readFileSync(file, 'utf8')).toBe(saved); // no --update: the snapshot stays

    const j = JSON.parse(json.stdout);
    expect(j.verdict).toBe('changed');
    expect(j.recordsChanged).toBe(true);
    expect(j.dependencies.map((d: { domain: string; status: string }) => `${d.domain} ${d.status}`).sort()).toEqual(['_extra.prov-a.test appeared', '_spf.prov-a.test changed', '_v6.prov-a.test disappeared']);
  });

  it('a record rewritten without moving its ranges is a note with exit 0', async () => {
    const file = await snapshotOf();
    const r = await runCli(['spf', 'flatten', 'example.test', '--compare', file, '--nameserver', ns(servers.textOnly)]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^unchanged/);
    expect(r.stdout).toContain('note: prov-b.test changed its record text but not its address ranges');
    expect(r.stdout).not.toMatch(/^\s+[-+] ip/m);
  });

  it('a provider that does not answer gives exit 3 and never claims removed ranges', async () => {
    const file = await snapshotOf();
    const saved = readFileSync(file, 'utf8');
    // A prompt answer slowed past the deadline could only add temporary failures, the exit 3 this wants.
    const [r, j] = await Promise.all([
      runCli(['spf', 'flatten', 'example.test', '--compare', file, '--update', '--nameserver', ns(servers.silent), '--timeout', '300']),
      runCli(['spf', 'flatten', 'example.test', '--compare', file, '--json', '--nameserver', ns(servers.silent), '--timeout', '300']),
    ]);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('_spf.prov-a.test');
    expect(r.stderr).toContain(`nothing was compared and ${file} is unchanged`);
    expect(r.stderr).not.toMatch(/removed|no longer copied|CHANGED/);
    expect(readFileSync(file, 'utf8')).toBe(saved);
    expect(j.code).toBe(3);
    const out = JSON.parse(j.stdout);
    expect(out.temporary).toBe(true);
    expect(out.dependencies).toBeUndefined();
  });

  it('--update replaces the snapshot by a rename when something moved, and the next compare is unchanged', async () => {
    const file = await snapshotOf();
    const inode = statSync(file).ino;
    const r = await runCli(['spf', 'flatten', 'example.test', '--compare', file, '--update', '--nameserver', ns(servers.moved)]);
    expect(r.code).toBe(1); // still reported, so cron mails it once
    expect(r.stdout).toContain(`${file} now holds this state (--update)`);
    const snap = JSON.parse(readFileSync(file, 'utf8')) as SpfSnapshot;
    expect(snap.original).toBe(SOURCE); // the source is kept, not the flattened record now published
    expect(snap.dependencies.find((d) => d.domain === '_spf.prov-a.test')!.ranges).toEqual(['ip4:192.0.2.0/24', 'ip4:198.51.100.128/25']);
    expect(statSync(file).ino).not.toBe(inode); // a new file renamed into place, not rewritten in place
    expect(tempLeft(work)).toEqual([]);
    expect((await runCli(['spf', 'flatten', 'example.test', '--compare', file, '--nameserver', ns(servers.moved)])).code).toBe(0);
  });

  it('bad snapshot files give exit 2 naming the file and the fix', async () => {
    const missing = path.join(work, 'nope.json');
    const foreign = fresh();
    writeFileSync(foreign, '{"hello": "world"}\n');
    const corrupt = fresh();
    writeFileSync(corrupt, readFileSync(await snapshotOf(), 'utf8').slice(0, 120));
    const otherDomain = await snapshotOf('other.test');
    const [r1, r2, r3, r4, r5, r6] = await Promise.all([
      runCli(['spf', 'flatten', 'example.test', '--compare', missing, '--nameserver', ns(servers.before)]),
      runCli(['spf', 'flatten', 'example.test', '--compare', foreign, '--nameserver', ns(servers.before)]),
      runCli(['spf', 'flatten', 'example.test', '--compare', corrupt, '--nameserver', ns(servers.before)]),
      runCli(['spf', 'flatten', 'example.test', '--compare', otherDomain, '--nameserver', ns(servers.before)]),
      runCli(['spf', 'flatten', 'example.test', '--compare', otherDomain, '--keep', 'prov-b.test']),
      runCli(['spf', 'flatten', 'example.test', '--update']),
    ]);
    expect(r1.code).toBe(2);
    expect(r1.stderr).toContain(`${missing} does not exist; make the first snapshot there (\`maildns spf flatten DOMAIN --snapshot ${missing}\`)`);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain(`${foreign}: it is not a maildns SPF snapshot`);
    expect(r3.code).toBe(2);
    expect(r3.stderr).toContain(`${corrupt} is not valid JSON`);
    expect(r4.code).toBe(2);
    expect(r4.stderr).toContain(`${otherDomain} holds the snapshot of other.test, not example.test`);
    expect(r5.code).toBe(2);
    expect(r6.code).toBe(2);
  });

  it('--snapshot never replaces a foreign file, and leaves the old snapshot whole when DNS fails', async () => {
    const foreign = fresh();
    writeFileSync(foreign, 'zone data that is not ours\n');
    const other = await snapshotOf('other.test');
    const file = await snapshotOf();
    const saved = readFileSync(file, 'utf8');
    const dir = path.join(work, 'is-a-dir');
    mkdirSync(dir);
    const [r, r2, r3, r4] = await Promise.all([
      runCli(['spf', 'flatten', 'example.test', '--snapshot', foreign, '--nameserver', ns(servers.before)]),
      runCli(['spf', 'flatten', 'example.test', '--snapshot', other, '--nameserver', ns(servers.before)]),
      runCli(['spf', 'flatten', 'example.test', '--snapshot', file, '--nameserver', ns(servers.silent), '--timeout', '300']),
      runCli(['spf', 'flatten', 'example.test', '--snapshot', dir, '--nameserver', ns(servers.before)]),
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${foreign} exists and is not a maildns SPF snapshot; refusing to overwrite it`);
    expect(r.stdout).toBe('');
    expect(readFileSync(foreign, 'utf8')).toBe('zone data that is not ours\n');

    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain('give each domain its own file');

    expect(r3.code).toBe(3);
    expect(readFileSync(file, 'utf8')).toBe(saved);

    expect(r4.code).toBe(2);
    expect(r4.stderr).toContain(`${dir} is not a regular file`);
    expect(tempLeft(work)).toEqual([]);
  });

  it('--snapshot through a dangling link: to newdir/, the link, its target and the fix, exit 2, and no file newdir; into a missing directory, where it leads', async () => {
    const at = mkdtempSync(path.join(work, 'slash-'));
    symlinkSync('newdir/', path.join(at, 'snap.json'));
    const r = await runCli(['spf', 'flatten', 'example.test', '--snapshot', 'snap.json', '--nameserver', ns(servers.before)], { cwd: at });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'maildns: snap.json: is a symbolic link to newdir/, which names a directory (the trailing slash) that does not exist, so no file can be written there: point it at a file (ln -sfn newdir/snap.json snap.json), or remove it\n',
    );
    expect(readdirSync(at)).toEqual(['snap.json']);
    // Into a directory that does not exist, the message says where the link leads.
    symlinkSync(path.join('missing', 'snap.json'), path.join(at, 'into-missing.json'));
    const missing = await runCli(['spf', 'flatten', 'example.test', '--snapshot', 'into-missing.json', '--nameserver', ns(servers.before)], { cwd: at });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe(`maildns: cannot write the snapshot into-missing.json -> ${path.join(at, 'missing', 'snap.json')} (ENOENT); choose a writable directory\n`);
  });
});

describe('examples/cron/maildns-spf-watch', () => {
  it('saves first snapshots, stays silent while nothing moves, and prints the diff when a provider changes', async () => {
    const script = new URL('../../../examples/cron/maildns-spf-watch', import.meta.url).pathname;
    const text = readFileSync(script, 'utf8');
    expect(text.startsWith('#!/bin/sh\n')).toBe(true);
    expect(text).toMatch(/^# Install: {2}sudo install -m 0755 maildns-spf-watch \/usr\/local\/bin\/maildns-spf-watch$/m);
    expect(statSync(script).mode & 0o111).not.toBe(0);
    const dir = mkdtempSync(path.join(tmpdir(), 'maildns-spf-watch-'));
    const bin = path.join(dir, 'bin');
    mkdirSync(bin);
    // `maildns` on PATH, as `npm install --global maildns` would put it. MAILDNS_TEST_TIMEOUT, when set,
    // becomes --timeout: the run against a silent provider then waits 2 x 300 ms, not 2 x 2 s.
    writeFileSync(path.join(bin, 'maildns'), `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@" \${MAILDNS_TEST_TIMEOUT:+--timeout "$MAILDNS_TEST_TIMEOUT"}\n`);
    chmodSync(path.join(bin, 'maildns'), 0o755);
    const list = path.join(dir, 'spf-domains.txt');
    writeFileSync(list, '# flattened domains\nexample.test\n\nother.test   # the second one\n');
    const state = path.join(dir, 'state');
    // Asynchronous: the DNS servers answer from this process, so it must not block.
    const run = (server: RunningServer, env: Record<string, string> = {}): Promise<{ status: number | null; stdout: string; stderr: string }> =>
      new Promise((resolve, reject) => {
        const child = spawn(script, [list, state], { env: { ...process.env, PATH: `${bin}:${process.env['PATH']}`, MAILDNS_NAMESERVER: ns(server), NO_COLOR: '1', MAILDNS_MAIL_TO: '', ...env } });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('error', reject);
        child.on('close', (status) => resolve({ status, stdout, stderr }));
      });

    const first = await run(servers.before);
    expect(first.status).toBe(0);
    expect(first.stdout).toContain(`example.test: first snapshot saved to ${state}/example.test.json`);
    expect(first.stdout).toContain(`other.test: first snapshot saved to ${state}/other.test.json`);
    expect(readdirSync(state).sort()).toEqual(['example.test.json', 'other.test.json']);

    const quiet = await run(servers.before);
    expect(quiet.status).toBe(0);
    expect(quiet.stdout).toBe('');
    expect(quiet.stderr).toBe('');
    expect((await run(servers.textOnly)).stdout).toBe(''); // a note alone is no reason to mail

    const changed = await run(servers.moved);
    expect(changed.status).toBe(1);
    expect(changed.stdout).toContain('== example.test (exit 1)');
    expect(changed.stdout).toContain('    + ip4:198.51.100.128/25');
    expect(changed.stdout).toContain('    - ip4:198.51.100.0/25');
    expect(changed.stdout).not.toContain('other.test');

    // Prompt answers slowed past this deadline could only add temporary failures, the exit 3 this wants.
    const down = await run(servers.silent, { MAILDNS_TEST_TIMEOUT: '300' });
    expect(down.status).toBe(3);
    expect(down.stdout).toContain('== example.test (exit 3)');
    expect(down.stdout).not.toMatch(/removed|\n {4}- ip/);
  });
});
