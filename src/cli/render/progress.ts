/** A one-line progress display on stderr, only when stderr is a terminal; silent on a pipe or file. */
interface Progress {
  tick(failing: boolean): void;
  done(): void;
}

/** `total` null: not known in advance (one shard of a list). */
export function progress(total: number | null, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY) return { tick() {}, done() {} };
  const started = Date.now();
  let count = 0;
  let failing = 0;
  let last = 0;
  const draw = (): void => {
    const secs = (Date.now() - started) / 1000;
    const rate = secs > 0 ? Math.round(count / secs) : 0;
    stream.write(`\r\u001b[Kchecked ${total === null ? count : `${count}/${total}`} domains, ${failing} with problems, ${rate}/s`);
  };
  return {
    tick(bad) {
      count++;
      if (bad) failing++;
      const now = Date.now();
      if (now - last >= 100) {
        last = now;
        draw();
      }
    },
    done() {
      stream.write('\r\u001b[K');
    },
  };
}
