/**
 * @module What operators do with the outbox (the `deno task outbox` CLI, health
 * and metrics): count batches, list dead ones, replay them, purge them.
 */
import { parseKey } from "../storage/key_parsers.ts";
import { keys } from "../storage/keys.ts";
import { getManyChunked } from "../storage/kv.ts";
import { counterValue } from "../storage/counters.ts";
import { ageSecond, BATCH_STATES, countDelta, countMove, trackAge } from "./counters.ts";
import {
  batchId,
  type DeadBatch,
  type OutboxBatch,
  parseBatchId,
  type Sink,
  SINKS,
  type WakeMessage,
} from "./outbox.ts";
import { wakeQueueMessage } from "./wake.ts";

/** Batches by state: waiting for a first attempt, waiting for a retry, dead. */
export interface OutboxCounts {
  pending: number;
  retrying: number;
  dead: number;
}

/** The counts kept with the writes, in all and per sink. */
export interface OutboxCountsBySink extends OutboxCounts {
  bySink: Record<Sink, OutboxCounts>;
}

/**
 * The outbox counts `/healthz` and `/metrics` show: read from the counters the
 * outbox commits keep exact (`counters.ts`), one `getMany`, whatever the backlog.
 */
export async function outboxCounts(kv: Deno.Kv): Promise<OutboxCountsBySink> {
  const counterKeys = SINKS.flatMap((sink) => BATCH_STATES.map((state) => keys.outboxCount(sink, state)));
  const entries = await getManyChunked(kv, counterKeys);
  const out: OutboxCountsBySink = {
    pending: 0,
    retrying: 0,
    dead: 0,
    bySink: {} as Record<Sink, OutboxCounts>,
  };
  SINKS.forEach((sink, i) => {
    const counts = { pending: 0, retrying: 0, dead: 0 };
    BATCH_STATES.forEach((state, j) => {
      counts[state] = counterValue(entries[i * BATCH_STATES.length + j]!);
      out[state] += counts[state];
    });
    out.bySink[sink] = counts;
  });
  return out;
}

/** Counts read row by row (operators, tests): per sink, and the age of the oldest pending batch. */
export interface OutboxStats extends OutboxCounts {
  bySink: Record<string, OutboxCounts>;
  oldestPendingAgeMs: number | null;
  /** True when a count stopped at `limit` rows. */
  capped: boolean;
}

/** Reads at most this many rows per state by default. */
export const COUNT_LIMIT = 10_000;

/** Counts the outbox by reading its rows; each state stops at `limit` rows. O(backlog): not for requests. */
export async function outboxStats(
  kv: Deno.Kv,
  options: { limit?: number; now?: number } = {},
): Promise<OutboxStats> {
  const limit = options.limit ?? COUNT_LIMIT;
  const now = options.now ?? Date.now();
  const stats: OutboxStats = {
    pending: 0,
    retrying: 0,
    dead: 0,
    bySink: {},
    oldestPendingAgeMs: null,
    capped: false,
  };
  const sinkCounts = (sink: string) => stats.bySink[sink] ??= { pending: 0, retrying: 0, dead: 0 };
  let rows = 0;
  for await (const entry of kv.list<OutboxBatch>({ prefix: keys.outboxPending() }, { limit })) {
    rows++;
    const state = entry.value.attempts > 0 ? "retrying" : "pending";
    stats[state]++;
    sinkCounts(parseKey.outbox(entry.key).sink)[state]++;
    const age = now - entry.value.createdAt;
    if (stats.oldestPendingAgeMs === null || age > stats.oldestPendingAgeMs) stats.oldestPendingAgeMs = age;
  }
  let dead = 0;
  for await (const entry of kv.list<DeadBatch>({ prefix: keys.outboxDeadAll() }, { limit })) {
    dead++;
    stats.dead++;
    sinkCounts(parseKey.outboxDead(entry.key).sink).dead++;
  }
  stats.capped = rows >= limit || dead >= limit;
  return stats;
}

/**
 * Sets the counters to what the rows say (a store written before the counters
 * existed, or repaired by hand). Run it while no server writes to the store:
 * a commit between the count and the write would be lost from the counters.
 * Returns the counts written.
 */
export async function recountOutbox(kv: Deno.Kv): Promise<OutboxStats> {
  const stats = await outboxStats(kv, { limit: Number.MAX_SAFE_INTEGER });
  await rebuildAges(kv);
  const op = kv.atomic();
  for (const sink of SINKS) {
    for (const state of BATCH_STATES) {
      const n = stats.bySink[sink]?.[state] ?? 0;
      op.set(keys.outboxCount(sink, state), new Deno.KvU64(BigInt(n)));
    }
  }
  await op.commit();
  return stats;
}

/** Rewrites the `outboxAge` buckets from the pending rows (part of `recountOutbox`). */
async function rebuildAges(kv: Deno.Kv): Promise<void> {
  const counts = new Map<string, { key: Deno.KvKey; n: number }>();
  for await (const entry of kv.list<OutboxBatch>({ prefix: keys.outboxPending() })) {
    const key = keys.outboxAge(parseKey.outbox(entry.key).sink, ageSecond(entry.value));
    const id = JSON.stringify(key);
    counts.set(id, { key, n: (counts.get(id)?.n ?? 0) + 1 });
  }
  const writes: Deno.KvMutation[] = [];
  const flush = async () => {
    if (writes.length > 0) await kv.atomic().mutate(...writes.splice(0)).commit();
  };
  for (const sink of SINKS) {
    for await (const entry of kv.list({ prefix: keys.outboxAges(sink) })) {
      if (!counts.has(JSON.stringify(entry.key))) writes.push({ type: "delete", key: entry.key });
      if (writes.length >= 500) await flush();
    }
  }
  for (const { key, n } of counts.values()) {
    writes.push({ type: "set", key, value: new Deno.KvU64(BigInt(n)) });
    if (writes.length >= 500) await flush();
  }
  await flush();
}

/**
 * How long the oldest undelivered (pending or retrying) batch of each sink has
 * waited, in ms (to the second), or null when none waits: the first non-zero
 * `outboxAge` bucket of each sink, whatever the backlog (the buckets that
 * emptied are pruned by `pruneAgeBuckets`).
 */
export async function oldestAges(kv: Deno.Kv, now = Date.now()): Promise<Record<Sink, number | null>> {
  const ages = await Promise.all(SINKS.map(async (sink) => {
    for await (const entry of kv.list({ prefix: keys.outboxAges(sink) }, { batchSize: 64 })) {
      if (counterValue(entry) > 0) return Math.max(0, now - parseKey.outboxAge(entry.key).second * 1000);
    }
    return null;
  }));
  return Object.fromEntries(SINKS.map((sink, i) => [sink, ages[i]!])) as Record<Sink, number | null>;
}

/**
 * Deletes `outboxAge` buckets that went back to zero, each under a check on
 * the value read (a batch counted into it meanwhile keeps it); at most
 * `limit` per sink per call. Returns how many went.
 */
export async function pruneAgeBuckets(kv: Deno.Kv, limit = 1000): Promise<number> {
  let pruned = 0;
  for (const sink of SINKS) {
    const empty: Deno.KvEntry<unknown>[] = [];
    for await (const entry of kv.list({ prefix: keys.outboxAges(sink) }, { limit, batchSize: 200 })) {
      if (counterValue(entry) === 0) empty.push(entry);
    }
    for (let i = 0; i < empty.length; i += 90) {
      const part = empty.slice(i, i + 90);
      const op = kv.atomic();
      for (const entry of part) op.check(entry).delete(entry.key);
      if ((await op.commit()).ok) pruned += part.length;
    }
  }
  return pruned;
}

/** One sink's backlog: counts kept with the writes, and how long its oldest undelivered batch has waited. */
export interface SinkBacklog extends OutboxCounts {
  /** How long the oldest pending or retrying batch has waited; null when none waits. */
  oldestAgeMs: number | null;
}

/** The outbox per sink (`GET /api/admin/outbox`, `deno task outbox stats`): a few reads, whatever the backlog. */
export async function outboxBacklog(kv: Deno.Kv, now = Date.now()): Promise<Record<Sink, SinkBacklog>> {
  const [counts, ages] = await Promise.all([outboxCounts(kv), oldestAges(kv, now)]);
  return Object.fromEntries(
    SINKS.map((sink) => [sink, { ...counts.bySink[sink], oldestAgeMs: ages[sink] }]),
  ) as Record<Sink, SinkBacklog>;
}

/** One dead batch as operators see it. */
export interface DeadSummary {
  id: string;
  sink: Sink;
  stream: string;
  order: number;
  attempts: number;
  events: number;
  lastError?: string;
  /** When the batch was committed. */
  createdAt: number;
  deadAt: number;
}

/** The dead batches, oldest stream order first, at most `limit`. */
export async function listDead(kv: Deno.Kv, options: { limit?: number } = {}): Promise<DeadSummary[]> {
  const out: DeadSummary[] = [];
  const iter = kv.list<DeadBatch>({ prefix: keys.outboxDeadAll() }, { limit: options.limit ?? 1000 });
  for await (const { value } of iter) {
    out.push({
      id: batchId(value.sink, value.stream, value.order),
      sink: value.sink,
      stream: value.stream,
      order: value.order,
      attempts: value.attempts,
      events: value.events.length,
      ...(value.lastError ? { lastError: value.lastError } : {}),
      createdAt: value.createdAt,
      deadAt: value.deadAt,
    });
  }
  return out;
}

/**
 * Moves dead batches back to pending with fresh attempts, and enqueues a wake
 * for their streams in the same commit. A server on the same KV delivers them
 * at once (queue) or at its next sweep (another process on a local file).
 * Returns how many were replayed.
 *
 * @throws {RangeError} when `id` is not a batch id or no such dead batch exists.
 */
export async function replayDead(kv: Deno.Kv, target: { id: string } | { all: true }): Promise<number> {
  const entries: Deno.KvEntry<DeadBatch>[] = [];
  if ("id" in target) {
    const ref = parseBatchId(target.id);
    if (!ref) throw new RangeError(`Not a batch id: ${target.id} (expected {sink}:{stream}:{order})`);
    const entry = await kv.get<DeadBatch>(keys.outboxDead(ref.sink, ref.stream, ref.order));
    if (entry.value === null) throw new RangeError(`No dead batch ${target.id}`);
    entries.push(entry as Deno.KvEntry<DeadBatch>);
  } else {
    for await (const entry of kv.list<DeadBatch>({ prefix: keys.outboxDeadAll() })) entries.push(entry);
  }
  let replayed = 0;
  for (let i = 0; i < entries.length; i += 20) {
    const part = entries.slice(i, i + 20);
    const op = kv.atomic();
    for (const entry of part) {
      const { sink, deadAt: _deadAt, lastError: _lastError, ...batch } = entry.value;
      const pending: OutboxBatch = { ...batch, attempts: 0, replayed: true };
      const key = keys.outbox(sink, batch.stream, batch.order);
      op.check(entry).check({ key, versionstamp: null }).delete(entry.key).set(key, pending)
        .mutate(...countMove(sink, "dead", "pending"), trackAge(sink, pending));
    }
    const wake = wakeQueueMessage(part.map((e) => ({ sink: e.value.sink, stream: e.value.stream })));
    op.enqueue(wake.value as WakeMessage, wake.options);
    if ((await op.commit()).ok) replayed += part.length;
  }
  return replayed;
}

/** Deletes every dead batch (and parked wake messages); returns how many batches went. */
export async function purgeDead(kv: Deno.Kv): Promise<number> {
  let purged = 0;
  // Dead batches: each under a check, so that its counter moves exactly once.
  const dead: Deno.KvEntry<DeadBatch>[] = [];
  const flushDead = async () => {
    const doomed = dead.splice(0);
    const op = kv.atomic();
    const bySink = new Map<Sink, number>();
    for (const entry of doomed) {
      op.check(entry).delete(entry.key);
      bySink.set(entry.value.sink, (bySink.get(entry.value.sink) ?? 0) + 1);
    }
    for (const [sink, n] of bySink) op.mutate(countDelta(sink, "dead", -n));
    if ((await op.commit()).ok) purged += doomed.length;
  };
  for await (const entry of kv.list<DeadBatch>({ prefix: keys.outboxDeadAll() })) {
    dead.push(entry);
    if (dead.length >= 90) await flushDead();
  }
  if (dead.length > 0) await flushDead();
  const lost: Deno.KvKey[] = [];
  const flushLost = async () => {
    await lost.splice(0).reduce((op, key) => op.delete(key), kv.atomic()).commit();
  };
  for await (const entry of kv.list({ prefix: keys.outboxLostWakes() })) {
    lost.push(entry.key);
    if (lost.length >= 500) await flushLost();
  }
  if (lost.length > 0) await flushLost();
  return purged;
}
