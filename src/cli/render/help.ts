/**
 * `maildns --help`: the command list, laid out as yargs lays out a command's help, but without
 * loading the parser (it costs more than the rest of the start-up together).
 */
import { COMMANDS } from '../registry.js';

export const USAGE = "$0 <command> [options]\n\nSet up and keep watch over a domain's email authentication in DNS: SPF, DKIM, DMARC.";
export const EPILOGUE = 'Exit codes: 0 ok, 1 problems found, 2 bad input or usage, 3 DNS could not be asked, 70 a bug in maildns.';

/** Words of `text` in lines of at most `width` characters. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

export function renderTopLevelHelp(columns: number): string {
  const width = Math.min(110, columns);
  const rows = Object.values(COMMANDS).map((c) => [`  maildns ${c.command}`, c.describe] as const);
  const options = [
    ['  --help', 'Show help'],
    ['  --version', 'Show version number'],
  ] as const;
  const left = Math.max(...rows.map(([l]) => l.length)) + 2;
  const block = (items: readonly (readonly [string, string])[], pad: number): string[] =>
    items.flatMap(([l, d]) => wrap(d, width - pad).map((text, i) => `${(i === 0 ? l : '').padEnd(pad)}${text}`));
  return [
    USAGE.replace('$0', 'maildns'),
    '',
    'Commands:',
    ...block(rows, left),
    '',
    'Options:',
    ...block(options, 13),
    '',
    ...wrap(EPILOGUE, width),
    '',
  ].join('\n');
}
