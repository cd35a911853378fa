import { describe, expect, it } from 'vitest';
import { userSets } from '../../../src/cli/memory.js';
import { SHORT_RUN_DOMAINS, tierUpLaterForShortRun } from '../../../src/cli/tiering.js';

describe('V8 tier-up in a short check', () => {
  const node20 = '11.3.244.8-node.38';

  it('raises V8 11.3\'s (Node 20\'s) interrupt budget eightfold for a run of at most SHORT_RUN_DOMAINS domains', () => {
    for (const domains of [1, 1000, SHORT_RUN_DOMAINS]) {
      const set: string[] = [];
      tierUpLaterForShortRun(domains, (f) => set.push(f), node20, false);
      expect(set).toEqual(['--interrupt-budget=540672']);
    }
  });

  it('leaves a longer run, other V8 versions and a budget the user set alone', () => {
    const set: string[] = [];
    tierUpLaterForShortRun(SHORT_RUN_DOMAINS + 1, (f) => set.push(f), node20, false);
    tierUpLaterForShortRun(1000, (f) => set.push(f), '12.4.254.21-node.33', false);
    tierUpLaterForShortRun(1000, (f) => set.push(f), '11.8.172.17-node.15', false);
    tierUpLaterForShortRun(1000, (f) => set.push(f), node20, true);
    expect(set).toEqual([]);
  });
});

describe('whether the user set --interrupt-budget', () => {
  const withExecArgv = (argv: string[], run: () => void): void => {
    const saved = process.execArgv;
    process.execArgv = argv;
    try {
      run();
    } finally {
      process.execArgv = saved;
    }
  };

  it('sees the flag in either spelling, with its value after = or as the next word', () => {
    for (const argv of [['--interrupt-budget=1000'], ['--interrupt_budget=1000'], ['--interrupt-budget', '1000']]) withExecArgv(argv, () => expect(userSets('interrupt-budget')).toBe(true));
  });

  it('does not take V8\'s other flags that start with the same words for it', () => {
    for (const argv of [['--interrupt-budget-for-feedback-allocation=940'], ['--interrupt-budget-factor-for-feedback-allocation=8'], []]) withExecArgv(argv, () => expect(userSets('interrupt-budget')).toBe(false));
  });
});
