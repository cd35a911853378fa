/**
 * Every external program the tests run, in one list. The preflight (test/preflight.ts) checks
 * them all before any test starts; helpers and tests take the paths from here, so a program is
 * named once. Absolute paths: /usr/sbin is not on every user's PATH, and a test must not pick up
 * some other copy. The packages are the Debian 12 ones .ci/run installs (a unit test keeps the two
 * lists equal).
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { KNOTC, KNOTD } from '../../bench/knot.js';

export { KNOTC, KNOTD };
export const NAMED_CHECKZONE = '/usr/bin/named-checkzone';
export const NAMED_COMPILEZONE = '/usr/bin/named-compilezone';
export const DIG = '/usr/bin/dig';
const OPENDKIM = '/usr/sbin/opendkim';
export const OPENDKIM_TESTKEY = '/usr/sbin/opendkim-testkey';
export const MILTERTEST = '/usr/bin/miltertest';
const POSTFIX = '/usr/sbin/postfix';
const POSTCONF = '/usr/sbin/postconf';
const POSTMAP = '/usr/sbin/postmap';
const DOVECOT = '/usr/sbin/dovecot';
const OPENSSL = '/usr/bin/openssl';
export const CHROMIUM = '/usr/bin/chromium';
export const KEYMGR = '/usr/sbin/keymgr';
export const UNBOUND = '/usr/sbin/unbound';
export const IP = '/bin/ip';
/** Debian's own python, which has the python3-* modules below (a virtualenv's python may not). */
export const SYSTEM_PYTHON = '/usr/bin/python3';

interface ExternalProgram {
  path: string;
  /** The Debian package that installs it. */
  package: string;
  /** What the tests use it for, to say in the preflight message. */
  usedFor: string;
}

export const PROGRAMS: readonly ExternalProgram[] = [
  { path: KNOTD, package: 'knot', usedFor: 'the authoritative DNS server of test/integration/knot and opendkim' },
  { path: KNOTC, package: 'knot', usedFor: 'loading and reloading Knot zones' },
  { path: KEYMGR, package: 'knot', usedFor: 'the DS records of the zones Knot signs (test/integration/knot/dnssec)' },
  { path: NAMED_CHECKZONE, package: 'bind9-utils', usedFor: 'checking rendered zone files (test/integration/bind)' },
  { path: NAMED_COMPILEZONE, package: 'bind9-utils', usedFor: 'reading rendered TXT strings back (test/integration/bind)' },
  { path: DIG, package: 'bind9-dnsutils', usedFor: 'asking the embedded server and `maildns serve`' },
  { path: OPENDKIM, package: 'opendkim', usedFor: 'signing with the generated OpenDKIM files' },
  { path: OPENDKIM_TESTKEY, package: 'opendkim-tools', usedFor: 'checking published DKIM keys' },
  { path: MILTERTEST, package: 'miltertest', usedFor: 'driving the opendkim milter through a message' },
  { path: POSTFIX, package: 'postfix', usedFor: 'the mail host set up from maildns\'s output (test/integration/postfix)' },
  { path: POSTCONF, package: 'postfix', usedFor: 'applying and reading the generated Postfix settings' },
  { path: POSTMAP, package: 'postfix', usedFor: 'the relay password map' },
  { path: '/usr/lib/postfix/configure-instance.sh', package: 'postfix', usedFor: 'the chroot layout Debian ships' },
  { path: DOVECOT, package: 'dovecot-core', usedFor: 'SASL for the submission service' },
  { path: OPENSSL, package: 'openssl', usedFor: 'test certificate authorities (MTA-STS over HTTPS, STARTTLS)' },
  { path: CHROMIUM, package: 'chromium', usedFor: 'the HTML report in a real headless browser (test/integration/browser)' },
  { path: SYSTEM_PYTHON, package: 'python3-dkim', usedFor: 'dkimpy (DKIM and ARC), pyspf and dnspython as independent verifiers and sealers' },
  { path: UNBOUND, package: 'unbound', usedFor: 'the validating resolver of the DNSSEC tests (test/integration/knot/dnssec)' },
  { path: IP, package: 'iproute2', usedFor: 'network namespaces of the tests\' own (test/integration/netns)' },
];

interface PythonModule {
  module: string;
  package: string;
}

export const PYTHON_MODULES: readonly PythonModule[] = [
  { module: 'dkim', package: 'python3-dkim' },
  { module: 'spf', package: 'python3-spf' },
  { module: 'dns.resolver', package: 'python3-dnspython' },
  // dkimpy's arc_sign reads Authentication-Results with it; python3-dkim only suggests it.
  { module: 'authres', package: 'python3-authres' },
];

/** The packages .ci/run installs, in its order: the one line the preflight prints. */
export const APT_PACKAGES = ['knot', 'bind9-utils', 'bind9-dnsutils', 'opendkim', 'opendkim-tools', 'miltertest', 'postfix', 'dovecot-core', 'openssl', 'python3-dkim', 'python3-authres', 'python3-spf', 'python3-dnspython', 'chromium', 'unbound', 'iproute2'] as const;
export const INSTALL_LINE = `apt-get install ${APT_PACKAGES.join(' ')}`;

interface Missing {
  what: string;
  package: string;
  usedFor: string;
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Modules of `modules` that `python` cannot import (all of them when python itself does not run). */
function missingPythonModules(python: string, modules: readonly PythonModule[]): PythonModule[] {
  if (modules.length === 0) return [];
  const script = [
    'import importlib, sys',
    'for name in sys.argv[1:]:',
    '    try:',
    '        importlib.import_module(name)',
    '    except Exception:',
    '        print(name)',
  ].join('\n');
  const r = spawnSync(python, ['-c', script, ...modules.map((m) => m.module)], { encoding: 'utf8', timeout: 20_000 });
  if (r.status !== 0) return [...modules];
  const failed = new Set(r.stdout.split('\n').filter(Boolean));
  return modules.filter((m) => failed.has(m.module));
}

/** What of `programs` and `modules` is not installed here; empty when the tests can run. */
export function findMissing(programs: readonly ExternalProgram[] = PROGRAMS, modules: readonly PythonModule[] = PYTHON_MODULES, python = SYSTEM_PYTHON): Missing[] {
  const missing: Missing[] = programs.filter((p) => !isExecutable(p.path)).map((p) => ({ what: p.path, package: p.package, usedFor: p.usedFor }));
  // Without the interpreter the module check says nothing new: the interpreter is already named.
  if (isExecutable(python)) {
    for (const m of missingPythonModules(python, modules)) missing.push({ what: `python module "${m.module}" (${python})`, package: m.package, usedFor: 'an independent verifier' });
  }
  return missing;
}

/** The preflight's message: each missing program on its own line, then the one install line. */
export function missingMessage(missing: readonly Missing[]): string {
  return [
    `maildns tests: ${missing.length === 1 ? 'a program the tests need is' : `${missing.length} programs the tests need are`} not installed:`,
    ...missing.map((m) => `  ${m.what} (Debian package ${m.package}): ${m.usedFor}`),
    'Install them all (Debian 12, as root; .ci/run does the same):',
    `  ${INSTALL_LINE}`,
  ].join('\n');
}

/**
 * Start of a program the tests run failed (ENOENT, EACCES): an error that names the program and
 * its package instead of an empty output that fails an assertion far away.
 */
export function notRunnable(file: string, cause: string): Error {
  const p = PROGRAMS.find((x) => x.path === file);
  return new Error(`${file} could not be started (${cause})${p ? `; it comes with the Debian package ${p.package}: ${INSTALL_LINE}` : ''}`);
}
