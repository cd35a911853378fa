/** The mail-host steps of `maildns opendkim` and `maildns postfix`, as shell lines and as JSON. */
import { shellLine, type SetupStep } from '../../steps.js';

export function renderSteps(steps: readonly SetupStep[]): string[] {
  const lines = steps.map((s) => shellLine(s.argv));
  const width = Math.min(100, Math.max(...lines.map((l) => l.length)));
  return lines.map((l, i) => `  ${l.padEnd(width)}   # ${steps[i]!.why}`);
}

export function stepsJson(steps: readonly SetupStep[]): { kind: string; argv: string[]; command: string; why: string }[] {
  return steps.map((s) => ({ kind: s.kind, argv: s.argv, command: shellLine(s.argv), why: s.why }));
}
