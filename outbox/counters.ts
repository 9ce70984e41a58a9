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

/**
 * The `outboxAge` entry of a pending batch: set with its row, deleted when it
 * is delivered or goes dead, so that the first entry of a sink names its
 * oldest undelivered batch (one short list, whatever the backlog).
 */
export function trackAge(
  sink: string,
  batch: { stream: string; order: number; createdAt: number },
): Deno.KvMutation {
  return { type: "set", key: keys.outboxAge(sink, batch.createdAt, batch.stream, batch.order), value: null };
}

/** Deletes the batch's `outboxAge` entry (put it in the commit that removes the batch from pending). */
export function forgetAge(
  sink: string,
  batch: { stream: string; order: number; createdAt: number },
): Deno.KvMutation {
  return { type: "delete", key: keys.outboxAge(sink, batch.createdAt, batch.stream, batch.order) };
}
