/** Run the built CLI (dist/cli/main.js, or bin/maildns, package.json's bin) as a user would, and collect what it printed and its exit code. */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/cli/main.js');
/** The `maildns` command as npm installs it: a shell launcher that runs the node on PATH with CLI. */
export const LAUNCHER = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/maildns');

/** The environment of a launcher run: this test's node first on PATH, as the launcher runs the node it finds there. */
export function launcherPath(): string {
  return `${path.dirname(process.execPath)}:${process.env['PATH'] ?? ''}`;
}

/** The node option that has a process load `source` (an ES module) before its own code. */
export function preloadOption(source: string): string {
  return `--import=data:text/javascript,${encodeURIComponent(source)}`;
}

/** The environment that has the CLI process load `source` before its own code, as a probe of what it does. */
export function preloadEnv(source: string): Record<string, string> {
  return { NODE_OPTIONS: `${process.env['NODE_OPTIONS'] ?? ''} ${preloadOption(source)}` };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface CliOptions {
  cwd?: string;
  env?: Record<string, string>;
  input?: string;
  /** Send this signal once stdout contains `afterOutput`, then wait for exit. */
  signal?: { name: NodeJS.Signals; afterOutput: string };
  /** Kill the command (SIGKILL) if it is still running after this long, so a hang fails the test instead of outliving it. */
  killAfterMs?: number;
  /** Run the launcher (bin/maildns) rather than node with dist/cli/main.js. */
  launcher?: boolean;
  /** Run as this user and group (a test running as root trying what a user may not do). */
  user?: { uid: number; gid: number };
}

export function runCli(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(opts.launcher ? LAUNCHER : process.execPath, opts.launcher ? args : [CLI, ...args], {
      cwd: opts.cwd,
      env: { ...process.env, NO_COLOR: '1', ...(opts.launcher ? { PATH: launcherPath() } : {}), ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
      ...opts.user,
    });
    let stdout = '';
    let stderr = '';
    let signalled = false;
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (opts.signal && !signalled && stdout.includes(opts.signal.afterOutput)) {
        signalled = true;
        child.kill(opts.signal.name);
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = opts.killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), opts.killAfterMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}
