/**
 * @module The pure parts of a drain round: which rows of a page are due, how
 * streams are sliced into sink calls, and delete commits that fit KV's limits.
 */
import type { CommitUnit } from "../storage/commit_batcher.ts";
import { estimateBytes, keyBytes } from "../storage/kv_size.ts";
import type { OutboxBatch, Sink } from "./outbox.ts";
import { COUNT_MUTATION_BYTES, countDelta, forgetAges, pendingState } from "./counters.ts";
import type { OutboxSink } from "./sink.ts";

/** A pending row as listed. */
export type Row = Deno.KvEntry<OutboxBatch>;

/** One leased stream in a round: its listed page and the rows due now. */
export interface StreamWork {
  stream: string;
  rows: Row[];
  due: Row[];
}

/** Rows deleted per commit: one check each, within KV's 100 checks, plus the counter and age sums. */
const DELETES_PER_COMMIT = 90;
/** Key bytes (checks and mutations) per commit, well below KV's 80 KiB of keys. */
const KEY_BYTES_PER_COMMIT = 48 * 1024;

/** The rows at the head of the page that are due now; a row waiting for its retry stops the stream. */
export function leadingDue(rows: Row[], now: number): Row[] {
  const stop = rows.findIndex((r) => (r.value.nextAttemptAt ?? 0) > now);
  return stop < 0 ? rows : rows.slice(0, stop);
}

/** Consecutive streams, at most `max` due batches per slice (a stream is never split). */
export function sliceByBatches(work: StreamWork[], max: number): StreamWork[][] {
  const slices: StreamWork[][] = [];
  let current: StreamWork[] = [];
  let size = 0;
  for (const w of work) {
    if (current.length > 0 && size + w.due.length > max) {
      slices.push(current);
      current = [];
      size = 0;
    }
    current.push(w);
    size += w.due.length;
  }
  if (current.length > 0) slices.push(current);
  return slices;
}

/** Rows in groups that fit one delete commit: checks, mutations and key bytes. */
export function chunkRows(rows: Row[]): Row[][] {
  const chunks: Row[][] = [];
  let current: Row[] = [];
  let size = 0;
  for (const row of rows) {
    const bytes = 3 * keyBytes(row.key); // the check, the delete, at most one `outboxAge` sum (a shorter key)
    if (current.length > 0 && (current.length >= DELETES_PER_COMMIT || size + bytes > KEY_BYTES_PER_COMMIT)) {
      chunks.push(current);
      current = [];
      size = 0;
    }
    current.push(row);
    size += bytes;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** Deletes the rows under checks on their versions, and takes them off their counters. */
export function deleteUnit(sink: Sink, rows: Row[]): CommitUnit {
  const byState = { pending: 0, retrying: 0 };
  for (const row of rows) byState[pendingState(row.value)]++;
  const counters = (["pending", "retrying"] as const).flatMap((state) =>
    byState[state] > 0 ? [countDelta(sink, state, -byState[state])] : []
  );
  const ages = forgetAges(sink, rows.map((r) => r.value));
  return {
    checks: rows.map((r) => ({ key: r.key, versionstamp: r.versionstamp })),
    mutations: [...rows.map((r): Deno.KvMutation => ({ type: "delete", key: r.key })), ...counters, ...ages],
    bytes: rows.reduce((n, r) => n + 2 * estimateBytes(r.key), 0) +
      (counters.length + ages.length) * COUNT_MUTATION_BYTES,
  };
}

/** Whether two rows are the same key. */
export function sameKey(a: Row, b: Row): boolean {
  return JSON.stringify(a.key) === JSON.stringify(b.key);
}

/** Calls the sink; one that throws is treated as having delivered nothing. */
export async function safeDeliver(adapter: OutboxSink, batches: OutboxBatch[]) {
  try {
    const report = await adapter.deliver(batches);
    return { delivered: Math.min(Math.max(0, report.delivered), batches.length), error: report.error };
  } catch (error) {
    return { delivered: 0, error: error ?? new Error("Sink failed") };
  }
}
