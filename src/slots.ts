/**
 * At most `limit` holders at once; the others wait for a place in the order they asked. For work a
 * run starts for many domains at once that must not all run at once (SMTP sessions of check --tls).
 */
export class Slots {
  private held = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(readonly limit: number) {
    // Fewer than one place would leave every holder waiting for ever.
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`Slots needs a whole number of places, at least 1 (got ${limit})`);
  }

  /** `work` once a place is free; the place is given back when it settles, however it settles. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.held < this.limit) this.held++;
    // A place handed over by give() stays held: the count does not drop and rise again.
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await work();
    } finally {
      this.give();
    }
  }

  private give(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.held--;
  }
}
