import { describe, expect, it } from 'vitest';
import { Slots } from '../../src/slots.js';

/** A piece of work that runs until `finish` is called, recording how many ran at once. */
function tracked(slots: Slots) {
  let running = 0;
  let most = 0;
  const order: number[] = [];
  const finishers: (() => void)[] = [];
  const start = (i: number, fail = false) =>
    slots.run(
      () =>
        new Promise<number>((resolve, reject) => {
          running++;
          most = Math.max(most, running);
          order.push(i);
          finishers[i] = () => {
            running--;
            if (fail) reject(new Error(`work ${i} failed`));
            else resolve(i);
          };
        }),
    );
  return { start, finish: (i: number) => finishers[i]!(), most: () => most, order, running: () => running };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('Slots', () => {
  it('refuses a bound that would leave every holder waiting (0, negative, fractional, NaN)', () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => new Slots(bad)).toThrow(RangeError);
    expect(new Slots(1).limit).toBe(1);
  });
  it('runs at most `limit` at once, the others in the order they asked', async () => {
    const t = tracked(new Slots(2));
    const done = [0, 1, 2, 3].map((i) => t.start(i));
    await turn();
    expect(t.order).toEqual([0, 1]);
    t.finish(1);
    await turn();
    expect(t.order).toEqual([0, 1, 2]);
    t.finish(0);
    t.finish(2);
    await turn();
    t.finish(3);
    expect(await Promise.all(done)).toEqual([0, 1, 2, 3]);
    expect(t.most()).toBe(2);
  });

  it('gives the place back when the work fails', async () => {
    const t = tracked(new Slots(1));
    const failing = t.start(0, true);
    const next = t.start(1);
    await turn();
    t.finish(0);
    await expect(failing).rejects.toThrow('work 0 failed');
    await turn();
    expect(t.order).toEqual([0, 1]);
    t.finish(1);
    expect(await next).toBe(1);
    // The one place is free again: the next work starts at once.
    const last = t.start(2);
    await turn();
    expect(t.running()).toBe(1);
    t.finish(2);
    expect(await last).toBe(2);
  });
});
