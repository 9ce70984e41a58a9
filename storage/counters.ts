/**
 * @module `Deno.KvU64` counters changed with `sum`: the one encoding of a
 * signed change and the one decoding of a counter's value.
 */

/**
 * The `sum` operand that adds `delta` (negative subtracts): `sum` adds modulo
 * 2^64, so adding 2^64 − n subtracts n.
 *
 * @example
 * ```ts
 * op.sum(keys.unreadTotal("bob"), u64Delta(-2).value);
 * ```
 */
export function u64Delta(delta: number): Deno.KvU64 {
  return new Deno.KvU64(BigInt.asUintN(64, BigInt(delta)));
}

/** A `sum` mutation adding `delta` to the counter at `key`. */
export function sumMutation(key: Deno.KvKey, delta: number): Deno.KvMutation {
  return { type: "sum", key, value: u64Delta(delta) };
}

/**
 * A counter's value, read back as a signed number (`sum` wraps modulo 2^64);
 * 0 when it was never written.
 */
export function counterValue(entry: Deno.KvEntryMaybe<unknown>): number {
  return entry.value instanceof Deno.KvU64 ? Number(BigInt.asIntN(64, entry.value.value)) : 0;
}
