/** Shared output helpers: JSON, findings as text, colour only on a terminal. */
import { formatFinding, type Finding } from '../../findings.js';

export function useColor(stream: NodeJS.WriteStream = process.stdout): boolean {
  return Boolean(stream.isTTY) && !process.env['NO_COLOR'];
}

const codes = { red: 31, yellow: 33, green: 32, dim: 2, bold: 1 } as const;

export function paint(text: string, color: keyof typeof codes, enabled = useColor()): string {
  return enabled ? `\u001b[${codes[color]}m${text}\u001b[0m` : text;
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function renderFindings(findings: readonly Finding[], color = useColor()): string {
  if (findings.length === 0) return paint('no problems found', 'green', color);
  return findings
    .map((f) => {
      const text = formatFinding(f);
      const tint = f.severity === 'error' ? 'red' : f.severity === 'warning' ? 'yellow' : 'dim';
      const [first, ...rest] = text.split('\n');
      return [paint(first!, tint, color), ...rest].join('\n');
    })
    .join('\n');
}
