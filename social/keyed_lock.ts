/**
 * @module An in-process lock per key: social commits on one user's records run
 * one at a time in this process, so their KV checks rarely fail. Correctness
 * never depends on it (other processes are only held off by the checks).
 */

/** Runs functions one at a time per key, in call order. */
export class KeyedLock {
  readonly #tails = new Map<string, Promise<void>>();

  /**
   * Runs `fn` once every earlier call holding any of `keys` has finished.
   * Keys are taken in sorted order, so two calls can never deadlock.
   *
   * @example
   * ```ts
   * await lock.run(["bob"], () => follow(...));
   * ```
   */
  async run<T>(keys: string[], fn: () => Promise<T>): Promise<T> {
    const sorted = [...new Set(keys)].sort();
    const releases: (() => void)[] = [];
    try {
      for (const key of sorted) releases.push(await this.#acquire(key));
      return await fn();
    } finally {
      for (const release of releases.reverse()) release();
    }
  }

  /** Keys held or waited for right now (tests). */
  get size(): number {
    return this.#tails.size;
  }

  async #acquire(key: string): Promise<() => void> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => release = resolve);
    const tail = previous.then(() => mine);
    this.#tails.set(key, tail);
    await previous;
    return () => {
      release();
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    };
  }
}

const locks = new WeakMap<Deno.Kv, KeyedLock>();

/** The lock shared by every social commit on this KV handle in this process. */
export function lockFor(kv: Deno.Kv): KeyedLock {
  let lock = locks.get(kv);
  if (!lock) locks.set(kv, lock = new KeyedLock());
  return lock;
}
