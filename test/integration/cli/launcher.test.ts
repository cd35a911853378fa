/**
 * The `maildns` command as npm installs it (bin/maildns, package.json's bin): a shell launcher that
 * runs dist/cli/main.js with the node on PATH and holds NODE_EXTRA_CA_CERTS back from Node's start
 * (src/tls-trust.ts reads it when a TLS connection needs it; the HTTPS and STARTTLS tests show that).
 * A file Node cannot read makes Node print a warning as it starts, which shows whether it read it.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LAUNCHER, launcherPath, preloadEnv, runCli } from '../../helpers/cli.js';

const { version } = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
const MISSING = '/nonexistent/maildns-extra-ca.pem';
const NODE_READ_IT = `Ignoring extra certs from \`${MISSING}\``;

describe('bin/maildns, the installed command', () => {
  it('keeps NODE_EXTRA_CA_CERTS from Node\'s start, which node with main.js reads', async () => {
    const launched = await runCli(['--version'], { launcher: true, env: { NODE_EXTRA_CA_CERTS: MISSING } });
    expect(launched).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
    // The control: started directly, Node reads the file first thing and says it could not.
    const direct = await runCli(['--version'], { env: { NODE_EXTRA_CA_CERTS: MISSING } });
    expect(direct.code).toBe(0);
    expect(direct.stderr).toContain(NODE_READ_IT);
  });

  it('hands the file\'s name on to maildns under MAILDNS_DEFERRED_EXTRA_CA_CERTS', async () => {
    const probe = "process.stderr.write(`extra=${process.env.NODE_EXTRA_CA_CERTS ?? '-'} deferred=${process.env.MAILDNS_DEFERRED_EXTRA_CA_CERTS ?? '-'}\\n`);";
    const r = await runCli(['--version'], { launcher: true, env: { ...preloadEnv(probe), NODE_EXTRA_CA_CERTS: '/etc/extra-ca.pem' } });
    expect(r.stderr).toBe('extra=- deferred=/etc/extra-ca.pem\n');
    const none = await runCli(['--version'], { launcher: true, env: { ...preloadEnv(probe), NODE_EXTRA_CA_CERTS: '' } });
    expect(none.stderr).toBe('extra= deferred=-\n');
  });

  it('leaves the file to Node when NODE_OPTIONS chooses the CA store', async () => {
    for (const option of ['--use-openssl-ca', '--use-bundled-ca']) {
      const r = await runCli(['--version'], { launcher: true, env: { NODE_OPTIONS: option, NODE_EXTRA_CA_CERTS: MISSING } });
      expect(r.code, option).toBe(0);
      expect(r.stderr, option).toContain(NODE_READ_IT);
    }
  });

  it('runs through a symlink, as npm links it into a bin directory, with the arguments and exit code unchanged', () => {
    const bin = mkdtempSync(path.join(tmpdir(), 'maildns-bin-'));
    const link = path.join(bin, 'maildns');
    symlinkSync(LAUNCHER, link);
    const run = (args: string[]) => spawnSync(link, args, { encoding: 'utf8', env: { ...process.env, PATH: launcherPath(), NO_COLOR: '1' } });
    expect(run(['--version']).stdout).toBe(`${version}\n`);
    // A name with a space and a quote reaches maildns as one argument, and its usage error keeps exit 2.
    const odd = run(['spf', "a b'c.example", '--nameserver', '127.0.0.1:9']);
    expect(odd.status).toBe(2);
    expect(odd.stderr).toContain("a b'c.example");
    // A temporary DNS failure keeps its exit 3.
    expect(run(['spf', 'example.test', '--nameserver', '127.0.0.1:9', '--timeout', '300']).status).toBe(3);
  });

  it('runs through a chain of relative symlinks where readlink has no -f', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'maildns bin-'));
    // npm's layout: PREFIX/bin/maildns -> ../lib/node_modules/maildns/bin/maildns, the package itself a link (npm link).
    mkdirSync(path.join(dir, 'bin'));
    mkdirSync(path.join(dir, 'lib/node_modules'), { recursive: true });
    symlinkSync(path.resolve(LAUNCHER, '../..'), path.join(dir, 'lib/node_modules/maildns'));
    symlinkSync('../lib/node_modules/maildns/bin/maildns', path.join(dir, 'bin/maildns'));
    // A readlink that refuses -f, as macOS's did before 12.3.
    const tools = path.join(dir, 'tools');
    mkdirSync(tools);
    writeFileSync(path.join(tools, 'readlink'), `#!/bin/sh\ncase $1 in -f) exit 1 ;; esac\nexec ${spawnSync('sh', ['-c', 'command -v readlink'], { encoding: 'utf8' }).stdout.trim()} "$@"\n`, { mode: 0o755 });
    const r = spawnSync(path.join(dir, 'bin/maildns'), ['--version'], { encoding: 'utf8', env: { ...process.env, PATH: `${tools}:${launcherPath()}`, NO_COLOR: '1' } });
    expect([r.status, r.stdout, r.stderr]).toEqual([0, `${version}\n`, '']);
  });
});
