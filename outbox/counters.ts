/**
 * @module Exact outbox counts per sink and state, kept with the writes: every
 * commit that adds, retries, dead-letters, delivers, replays or purges a batch
 * carries the `sum` mutations of the change it makes, under the checks that
 * make the change itself happen once. `sum` never conflicts, and reading the
 * counts is one `getMany` whatever the backlog.
 */
import { estimateBytes } from "../storage/kv_size.ts";
import { sumMutation } from "../storage/counters.ts";
import { keys } from "../storage/keys.ts";

/** What a batch is waiting for: a first attempt, a retry, or an operator (dead). */
export type BatchState = "pending" | "retrying" | "dead";

/** The states counted per sink. */
export const BATCH_STATES: readonly BatchState[] = ["pending", "retrying", "dead"];

/** The state of a row in the pending area: `retrying` once an attempt failed. */
export function pendingState(batch: { attempts: number }): "pending" | "retrying" {
  return batch.attempts > 0 ? "retrying" : "pending";
}

/**
 * The `sum` mutations that move one batch of `sink` from state `from` to `to`
 * (null: not in the outbox). Put them in the commit that makes the move.
 *
 * @example
 * ```ts
 * countMove("realtime", null, "pending"); // a new batch
 * countMove("realtime", "retrying", null); // a retried batch delivered
 * ```
 */
export function countMove(sink: string, from: BatchState | null, to: BatchState | null): Deno.KvMutation[] {
  if (from === to) return [];
  const out: Deno.KvMutation[] = [];
  if (from) out.push(countDelta(sink, from, -1));
  if (to) out.push(countDelta(sink, to, 1));
  return out;
}

/** `n` batches of `sink` entering (n > 0) or leaving (n < 0) `state`. */
export function countDelta(sink: string, state: BatchState, n: number): Deno.KvMutation {
  return sumMutation(keys.outboxCount(sink, state), n);
}

/** What a counter mutation weighs in a commit (for `CommitUnit.bytes`). */
export const COUNT_MUTATION_BYTES = estimateBytes(keys.outboxCount("realtime", "retrying")) + 16;

/** The second (since the epoch) a batch counts in, in `outboxAge`. */
export function ageSecond(batch: { createdAt: number }): number {
  return Math.floor(batch.createdAt / 1000);
}

/**
 * Counts a batch into the `outboxAge` bucket of the second it was committed
 * (put it in the commit that makes it pending). Batches of one commit share
 * the bucket, so their sums fold into one mutation.
 */
export function trackAge(sink: string, batch: { createdAt: number }): Deno.KvMutation {
  return sumMutation(keys.outboxAge(sink, ageSecond(batch)), 1);
}

/** Takes batches off their `outboxAge` buckets (in the commit that delivers or dead-letters them), one sum per second. */
export function forgetAges(sink: string, batches: readonly { createdAt: number }[]): Deno.KvMutation[] {
  const bySecond = new Map<number, number>();
  for (const batch of batches) bySecond.set(ageSecond(batch), (bySecond.get(ageSecond(batch)) ?? 0) + 1);
  return [...bySecond].map(([second, n]) => sumMutation(keys.outboxAge(sink, second), -n));
}
