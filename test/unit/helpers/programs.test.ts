/** The one list of external programs the preflight checks, and the message it stops the run with. */
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { APT_PACKAGES, findMissing, INSTALL_LINE, missingMessage, PROGRAMS, PYTHON_MODULES, SYSTEM_PYTHON } from '../../helpers/programs.js';

describe('the list of external programs', () => {
  it('installs exactly the packages .ci/run installs, in its order', () => {
    const ci = readFileSync(new URL('../../../.ci/run', import.meta.url), 'utf8');
    const packages = /^packages=\(([^)]*)\)$/m.exec(ci)?.[1]?.trim().split(/\s+/);
    expect(packages).toEqual([...APT_PACKAGES]);
    expect(INSTALL_LINE).toBe(`apt-get install ${packages!.join(' ')}`);
  });

  it('names a package of that list for every program and python module', () => {
    for (const p of [...PROGRAMS, ...PYTHON_MODULES]) expect(APT_PACKAGES as readonly string[]).toContain(p.package);
    expect(new Set(PROGRAMS.map((p) => p.path)).size).toBe(PROGRAMS.length);
  });
});

describe('findMissing and missingMessage', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'maildns-programs-'));
  const notExecutable = path.join(dir, 'knotd');
  writeFileSync(notExecutable, '#!/bin/sh\n');
  chmodSync(notExecutable, 0o644);
  const executable = path.join(dir, 'dig');
  writeFileSync(executable, '#!/bin/sh\n');
  chmodSync(executable, 0o755);

  it('names a program that is absent or not executable, and none that is there', () => {
    const missing = findMissing(
      [
        { path: path.join(dir, 'miltertest'), package: 'miltertest', usedFor: 'driving the milter' },
        { path: notExecutable, package: 'knot', usedFor: 'serving zones' },
        { path: executable, package: 'bind9-dnsutils', usedFor: 'asking' },
      ],
      [],
    );
    expect(missing.map((m) => [m.what, m.package])).toEqual([
      [path.join(dir, 'miltertest'), 'miltertest'],
      [notExecutable, 'knot'],
    ]);
  });

  it('names python modules the interpreter cannot import, and skips the check without an interpreter', () => {
    const modules = [
      { module: 'json', package: 'python3-json' },
      { module: 'maildns_no_such_module', package: 'python3-spf' },
    ];
    expect(findMissing([], modules, SYSTEM_PYTHON).map((m) => m.what)).toEqual([`python module "maildns_no_such_module" (${SYSTEM_PYTHON})`]);
    expect(findMissing([], modules, path.join(dir, 'python3'))).toEqual([]);
  });

  it('says what is missing, one line each, then the one install line', () => {
    const text = missingMessage([
      { what: '/usr/bin/miltertest', package: 'miltertest', usedFor: 'driving the opendkim milter through a message' },
      { what: 'python module "spf" (/usr/bin/python3)', package: 'python3-spf', usedFor: 'an independent verifier' },
    ]);
    const lines = text.split('\n');
    expect(lines[0]).toBe('maildns tests: 2 programs the tests need are not installed:');
    expect(lines[1]).toBe('  /usr/bin/miltertest (Debian package miltertest): driving the opendkim milter through a message');
    expect(lines[2]).toMatch(/^ {2}python module "spf"/);
    expect(lines.filter((l) => l.includes('apt-get install'))).toEqual([`  ${INSTALL_LINE}`]);
  });
});
