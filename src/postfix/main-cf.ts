/**
 * main.cf settings as data: each a name, a value and the reason it is there. Rendered as lines to
 * paste (with the reasons as comments) and as the one `postconf -e` step that applies them.
 */
import type { SetupStep } from '../steps.js';

export interface PostfixSetting {
  name: string;
  value: string;
  /** Why this value, as a comment above the line (may span lines). */
  why?: string;
}

/** smtp_tls_security_level values under which Postfix's smtp client never sends without TLS (`dane` and `may` fall back to plain text). */
export const TLS_REQUIRED_LEVELS: ReadonlySet<string> = new Set(['encrypt', 'verify', 'secure', 'dane-only', 'fingerprint']);

/** A Postfix list (comma or space separated) whose items may be `{ … }` groups, as transport_maps and milters allow. */
export function splitPostfixList(value: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let current = '';
  for (const c of value) {
    if (c === '{') depth += 1;
    if (c === '}') depth = Math.max(0, depth - 1);
    if (depth === 0 && (c === ',' || /\s/.test(c))) {
      if (current) out.push(current);
      current = '';
      continue;
    }
    current += c;
  }
  if (current) out.push(current);
  return out;
}

/** The first address of a milter entry: `{ inet:host:port, connect_timeout=10s }` names `inet:host:port`. */
export function milterAddress(entry: string): string {
  return entry.replace(/^\{\s*/, '').replace(/\s*\}$/, '').split(/[\s,]+/)[0]!;
}

export function renderMainCf(settings: readonly PostfixSetting[], header: string): string {
  const out: string[] = [header.trimEnd()];
  for (const s of settings) {
    if (s.why) out.push(...s.why.split('\n').map((l) => `# ${l}`));
    out.push(`${s.name} = ${s.value}`);
  }
  return `${out.join('\n')}\n`;
}

/** `postconf -e 'name = value' …`: sets every setting in place in main.cf, keeping the rest. */
export function postconfStep(settings: readonly PostfixSetting[], why: string): SetupStep {
  return { kind: 'postfix', argv: ['postconf', '-e', ...settings.map((s) => `${s.name} = ${s.value}`)], why };
}

/**
 * Read `name = value` lines (main.cf, or `postconf -n` output) into a map; continuation lines
 * (starting with white space) belong to the line above, `#` lines are comments. Returns each
 * setting with the line it starts on; a later line for the same name wins, as in Postfix.
 */
export function parseMainCf(text: string): Map<string, { value: string; line: number }> {
  const out = new Map<string, { value: string; line: number }>();
  let current: { name: string; value: string; line: number } | null = null;
  const flush = (): void => {
    if (current) out.set(current.name, { value: current.value.trim(), line: current.line });
    current = null;
  };
  text.split(/\r?\n/).forEach((raw, i) => {
    // Postfix ignores blank and comment lines altogether: they do not end a continued line.
    if (/^\s*#/.test(raw) || raw.trim() === '') return;
    if (/^\s/.test(raw) && current) {
      current.value += ` ${raw.trim()}`;
      return;
    }
    flush();
    const m = /^([A-Za-z0-9_]+)\s*=\s*(.*)$/.exec(raw);
    if (m) current = { name: m[1]!, value: m[2]!, line: i + 1 };
  });
  flush();
  return out;
}
