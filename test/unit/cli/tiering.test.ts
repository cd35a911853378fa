import { describe, expect, it } from 'vitest';
import { DOMAINS_WITH_LATER_TIER_UP, tierUpLaterAtFirst } from '../../../src/cli/tiering.js';

describe('V8 tier-up for the first domains of a check', () => {
  it('raises the interrupt budget at once and gives V8 11 its default back after the first domains, once', () => {
    const set: string[] = [];
    const domainDone = tierUpLaterAtFirst((f) => set.push(f), '11.3.244.8-node.38', false);
    expect(set).toEqual(['--interrupt-budget=540672']);
    for (let i = 1; i < DOMAINS_WITH_LATER_TIER_UP; i++) domainDone();
    expect(set).toHaveLength(1);
    domainDone();
    expect(set).toEqual(['--interrupt-budget=540672', '--interrupt-budget=67584']);
    for (let i = 0; i < 3 * DOMAINS_WITH_LATER_TIER_UP; i++) domainDone();
    expect(set).toHaveLength(2);
  });

  it('leaves other V8 versions, and a budget the user set, alone', () => {
    const set: string[] = [];
    const others = [tierUpLaterAtFirst((f) => set.push(f), '12.4.254.21-node.33', false), tierUpLaterAtFirst((f) => set.push(f), '11.3.244.8-node.38', true)];
    for (const domainDone of others) for (let i = 0; i < 2 * DOMAINS_WITH_LATER_TIER_UP; i++) domainDone();
    expect(set).toEqual([]);
  });
});
