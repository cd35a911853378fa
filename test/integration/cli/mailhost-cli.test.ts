/** `maildns opendkim` and `maildns postfix` as a user runs them: files, modes, exit codes, secrets. */
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/cli.js';
import { run } from '../../helpers/mailhost.js';

const EXAMPLE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../examples/maildns.yaml');
const SECRET = 'Tr0ub4dor&3 with spaces';

function exampleDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'maildns-mailhost-cli-'));
  copyFileSync(EXAMPLE, path.join(dir, 'maildns.yaml'));
  return dir;
}

describe('maildns opendkim', () => {
  it('with keys missing, writes nothing, names each key and exits 1', async () => {
    const dir = exampleDir();
    const r = await runCli(['opendkim'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([
      `maildns: ${dir}/keys/example.com/mail.private: no private key for example.com selector mail; run \`maildns keygen\` first (nothing was written)`,
      `maildns: ${dir}/keys/example.com/ed.private: no private key for example.com selector ed; run \`maildns keygen\` first (nothing was written)`,
    ]);
    expect(existsSync(path.join(dir, 'opendkim'))).toBe(false);
    const json = await runCli(['opendkim', '--json'], { cwd: dir });
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, missingKeys: [{ selector: 'mail' }, { selector: 'ed' }], files: [] });
  });

  it('after keygen, writes both instances and prints the steps; --json has them as argv', async () => {
    const dir = exampleDir();
    expect((await runCli(['keygen'], { cwd: dir })).code).toBe(0);
    const r = await runCli(['opendkim'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(path.join(dir, 'opendkim')).sort()).toEqual(
      ['KeyTable.ed25519', 'KeyTable.rsa', 'SigningTable.ed25519', 'SigningTable.rsa', 'TrustedHosts', 'opendkim-ed25519.conf', 'opendkim-ed25519.service', 'opendkim.conf', 'postfix-main.cf'].sort(),
    );
    expect(r.stdout).toMatch(/^ {2}adduser postfix opendkim +# /m);
    // The key lines read keys/ of this machine, which a copy of the output directory lacks.
    expect(r.stdout).toContain('/opendkim:\n(the private keys are installed from where keygen wrote them: when the mail host is another machine, copy them to the same paths first, mode 0600)\n');
    // systemd reads the second instance's unit without a complaint (it fails on a missing program, warns on bad values).
    const verify = await run('/usr/bin/systemd-analyze', ['verify', path.join(dir, 'opendkim', 'opendkim-ed25519.service')]);
    expect(verify).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(r.stdout).toMatch(/^ {2}systemctl restart opendkim opendkim-ed25519 +# /m);
    const json = JSON.parse((await runCli(['opendkim', '--json'], { cwd: dir })).stdout) as { steps: { argv: string[]; command: string }[] };
    expect(json.steps.find((s) => s.argv[0] === 'install' && s.argv.includes('0600'))!.argv).toEqual([
      'install', '-o', 'opendkim', '-g', 'opendkim', '-m', '0600', `${dir}/keys/example.com/mail.private`, '/etc/dkimkeys/example.com/mail.private',
    ]);
  });

  it('with --out the directory OpenDKIM reads, prints no step that installs a file onto itself', async () => {
    const dir = exampleDir();
    expect((await runCli(['keygen'], { cwd: dir })).code).toBe(0);
    const configDir = path.join(dir, 'etc', 'opendkim');
    // The same directory written two ways: compared as resolved paths.
    const args = ['opendkim', '--out', 'etc/./opendkim/', '--config-dir', configDir];
    const [text, json] = await Promise.all([runCli(args, { cwd: dir }), runCli([...args, '--json'], { cwd: dir })]);
    expect(text.code, text.stderr).toBe(0);
    const steps = (JSON.parse(json.stdout) as { steps: { argv: string[] }[] }).steps.map((s) => s.argv);
    const copies = steps.filter((a) => a[0] === 'install' && !a.includes('-d'));
    const ontoItself = copies.flatMap((a) => {
      const files = a.slice(1).filter((x, i, all) => !x.startsWith('-') && !['-o', '-g', '-m'].includes(all[i - 1]!));
      const target = files.at(-1)!;
      return files.slice(0, -1).filter((f) => path.resolve(configDir, f) === path.resolve(target.endsWith('/') ? path.join(target, path.basename(f)) : target));
    });
    expect(ontoItself).toEqual([]);
    expect(copies.map((a) => a.at(-1))).toEqual(['/etc/dkimkeys/example.com/mail.private', '/etc/dkimkeys/example.com/ed.private', '/etc/opendkim.conf', '/etc/systemd/system/opendkim-ed25519.service']);
    expect(text.stdout).not.toMatch(/install -m 0644 TrustedHosts/);
  });

  it('refuses the socket of its old help example with one line naming the fix (exit 2)', async () => {
    const dir = exampleDir();
    await runCli(['keygen'], { cwd: dir });
    const r = await runCli(['opendkim', '--socket', 'local:/run/opendkim/opendkim.sock'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      "maildns: the OpenDKIM socket /run/opendkim/opendkim.sock lies outside Postfix's queue directory /var/spool/postfix, where smtpd and cleanup run chrooted (as in Debian's master.cf): Postfix could not reach it and mail would leave unsigned; use local:/var/spool/postfix/opendkim/opendkim.sock or inet:8891@localhost\n",
    );
  });
});

describe('maildns postfix', () => {
  it('reads the password from the environment variable the plan names, writes it only to the 0600 map, never prints it', async () => {
    const dir = exampleDir();
    for (const args of [['postfix'], ['postfix', '--json']]) {
      const r = await runCli(args, { cwd: dir, env: { MAILDNS_RELAY_PASSWORD: SECRET } });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout + r.stderr).not.toContain(SECRET);
    }
    const map = path.join(dir, 'postfix', 'sasl_passwd');
    expect(statSync(map).mode & 0o777).toBe(0o600);
    expect(readFileSync(map, 'utf8')).toContain(`[smtp.relay.example.net]:587 example-com:${SECRET}\n`);
    for (const f of readdirSync(path.join(dir, 'postfix')).filter((n) => n !== 'sasl_passwd')) {
      expect(readFileSync(path.join(dir, 'postfix', f), 'utf8')).not.toContain(SECRET);
    }
    const main = readFileSync(path.join(dir, 'postfix', 'postfix-main.cf'), 'utf8');
    expect(main).toMatch(/^relayhost = \[smtp\.relay\.example\.net\]:587$/m);
    expect(main).toMatch(/^smtpd_milters = unix:opendkim\/opendkim\.sock, unix:opendkim\/opendkim-ed25519\.sock$/m);
  });

  it('run again: the password map is made 0600 whatever mode it was given, the other files keep theirs', async () => {
    const dir = exampleDir();
    expect((await runCli(['postfix'], { cwd: dir, env: { MAILDNS_RELAY_PASSWORD: SECRET } })).code).toBe(0);
    const map = path.join(dir, 'postfix', 'sasl_passwd');
    const main = path.join(dir, 'postfix', 'postfix-main.cf');
    chmodSync(map, 0o644);
    chmodSync(main, 0o600);
    expect((await runCli(['postfix'], { cwd: dir, env: { MAILDNS_RELAY_PASSWORD: SECRET } })).code).toBe(0);
    expect(statSync(map).mode & 0o777).toBe(0o600);
    expect(statSync(main).mode & 0o777).toBe(0o600);
  });

  it('without the password variable: one line with the plan file and line, exit 2', async () => {
    const dir = exampleDir();
    const line = readFileSync(path.join(dir, 'maildns.yaml'), 'utf8').split('\n').findIndex((l) => l.includes('password_env:')) + 1;
    const r = await runCli(['postfix'], { cwd: dir, env: { MAILDNS_RELAY_PASSWORD: '' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `maildns: maildns.yaml:${line}: the relay password is to come from the environment variable MAILDNS_RELAY_PASSWORD, which is set but empty; set it to the password when running maildns (it is read, never printed)\n`,
    );
    expect(existsSync(path.join(dir, 'postfix'))).toBe(false);
  });
});

describe('maildns postfix lint', () => {
  const SEEDS = [
    'myhostname = mail.example.com',
    'mydomain = example.com',
    'myorigin = $mydomain',
    'mynetworks = 127.0.0.0/8',
    'smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination',
    'relayhost = [smtp.relay.example.net]:587',
    'smtp_sasl_auth_enable = yes',
    'smtp_tls_security_level = may',
    '',
  ].join('\n');

  it('reads postconf -n from stdin, checks it against the plan, exits 1 on an error; --json has the findings', async () => {
    const dir = exampleDir();
    const r = await runCli(['postfix', 'lint', '--stdin'], { cwd: dir, input: SEEDS });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(
      'ERROR   postfix.sasl-without-tls  postconf -n:8 smtp_tls_security_level: the relay password is sent even when the smarthost offers no TLS (smtp_tls_security_level = may): anyone on the path can read it\n  fix: smtp_tls_security_level = encrypt\n',
    );
    const json = await runCli(['postfix', 'lint', '--stdin', '--json'], { cwd: dir, input: SEEDS.replace('= may', '= encrypt') });
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({ file: 'postconf -n', findings: [], exitCode: 0 });
  });

  it('without a plan, judges the names only with --domain; --fail-on warning counts warnings', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'maildns-lint-'));
    const text = SEEDS.replace('smtp_tls_security_level = may', 'smtp_tls_security_level = encrypt').replace('myorigin = $mydomain\n', '');
    expect((await runCli(['postfix', 'lint', '--stdin'], { cwd: dir, input: text })).code).toBe(0);
    const r = await runCli(['postfix', 'lint', '--stdin', '--domain', 'example.com', '--fail-on', 'warning'], { cwd: dir, input: text });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^WARNING postfix\.identity-mismatch  postconf -n:1 myhostname: mail from local users and scripts leaves as user@mail\.example\.com/);
  });

  it("has only its own flags: postfix's (--out, --socket, --selftest-route, …) are neither listed nor accepted", async () => {
    const dir = exampleDir();
    const help = await runCli(['postfix', 'lint', '--help'], { cwd: dir });
    expect(help.code).toBe(0);
    for (const flag of ['--out', '--config-dir', '--selftest-route', '--socket', '--socket-ed25519', '--postfix-queue-dir', '--postfix-chrooted', '--milter-default-action']) {
      expect(help.stdout).not.toContain(`${flag} `);
    }
    for (const flag of ['--stdin', '--domain', '--fail-on', '--plan', '--json']) expect(help.stdout).toContain(flag);
    const r = await runCli(['postfix', 'lint', '--stdin', '--socket', 'inet:8891@localhost'], { cwd: dir, input: SEEDS });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^maildns: Unknown argument: socket/);
    // postfix itself keeps them.
    expect((await runCli(['postfix', '--help'], { cwd: dir })).stdout).toContain('--selftest-route');
  });
});
