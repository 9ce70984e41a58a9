/**
 * @module The outbox watcher: wakes on queue messages (and in-process right
 * after a commit), drains each stream in order, one drainer per stream, retries
 * failures with backoff and moves exhausted batches to the dead-letter area.
 */
import type { CommitBatcher, QueueMessage } from "../storage/commit_batcher.ts";
import { estimateBytes } from "../storage/commit_batcher.ts";
import { keys } from "../storage/keys.ts";
import { getManyChunked } from "../storage/kv.ts";
import { DEFAULT_RETRY_POLICY, isExhausted, retryDelay, type RetryPolicy } from "./backoff.ts";
import type { OutboxMetrics } from "./metrics.ts";
import {
  batchId,
  type DeadBatch,
  type OutboxBatch,
  type Sink,
  type Wake,
  type WakeMessage,
} from "./outbox.ts";
import { describeError, type OutboxSink, PermanentDeliveryError } from "./sink.ts";

/** Who drains a stream right now. Advisory: correctness comes from the row checks. */
export interface OutboxLease {
  owner: string;
  until: number;
}

/** How the watcher runs. */
export interface WatcherOptions {
  /** Adapters by sink; streams of a sink without one stay pending. */
  sinks: Partial<Record<Sink, OutboxSink>>;
  /** Deletes of delivered rows and lease writes are group-committed through it. */
  batcher: CommitBatcher;
  metrics?: OutboxMetrics;
  retry?: Partial<RetryPolicy>;
  /** How long a lease lasts before another process may take the stream over. */
  leaseMs?: number;
  /** How often pending rows are swept (crashed processes, other processes' rows). */
  sweepIntervalMs?: number;
  /** Rows of one stream read and handed to a sink in one round. */
  pageSize?: number;
  /** Rounds in flight at once per sink (each drains up to `STREAMS_PER_ROUND` streams). */
  concurrency?: number;
  now?: () => number;
  random?: () => number;
}

/** The queue options of a wake message: the queue retries a failing handler, then parks it. */
const WAKE_BACKOFF_SCHEDULE = [1000, 5000, 30_000, 120_000];
/** A wake message stays well below KV's 64 KiB value limit; bigger ones ask for a sweep. */
const MAX_WAKE_MESSAGE_BYTES = 32 * 1024;
/**
 * Streams drained together in one round: their rows are read in parallel,
 * their leases taken in one commit, their events published together (in order
 * per stream) and their rows deleted in one commit. Within KV's 100 checks.
 */
const STREAMS_PER_ROUND = 64;
/** Shortest wait before looking again at a stream another process holds. */
const LEASE_POLL_MS = 100;
/** A watcher writes its heartbeat this often; its leases die with it within `HEARTBEAT_TTL_MS`. */
const HEARTBEAT_MS = 1000;
const HEARTBEAT_TTL_MS = 3500;

/**
 * The one queue message a commit enqueues for its wake items (the batcher's
 * `toQueueMessage`). `delayMs` makes it a safety net behind the in-process
 * nudge; `keysIfUndelivered` parks it where the sweep finds it.
 */
export function wakeQueueMessage(wake: unknown[], options: { delayMs?: number } = {}): QueueMessage {
  const unique = uniqueWakes(wake);
  let value: WakeMessage = { kind: "outbox.wake", wake: unique };
  if (JSON.stringify(value).length > MAX_WAKE_MESSAGE_BYTES) {
    value = { kind: "outbox.wake", wake: [], sweep: true };
  }
  return {
    value,
    options: {
      ...(options.delayMs ? { delay: options.delayMs } : {}),
      keysIfUndelivered: [keys.outboxLostWake(crypto.randomUUID())],
      backoffSchedule: WAKE_BACKOFF_SCHEDULE,
    },
  };
}

/** Whether a queue message is an outbox wake-up. */
export function isWakeMessage(value: unknown): value is WakeMessage {
  return typeof value === "object" && value !== null && (value as WakeMessage).kind === "outbox.wake" &&
    Array.isArray((value as WakeMessage).wake);
}

type Row = Deno.KvEntry<OutboxBatch>;

/** Drains the outbox of one process. */
export class OutboxWatcher {
  readonly #kv: Deno.Kv;
  readonly #sinks: Partial<Record<Sink, OutboxSink>>;
  readonly #batcher: CommitBatcher;
  readonly #metrics?: OutboxMetrics;
  readonly #retry: RetryPolicy;
  readonly #leaseMs: number;
  readonly #sweepIntervalMs: number;
  readonly #pageSize: number;
  readonly #concurrency: number;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #owner = crypto.randomUUID();
  /** Streams waiting for the next round, by sink. */
  readonly #queued = new Map<Sink, Set<string>>();
  /** Streams in a round right now: a stream is never in two rounds at once. */
  readonly #inRound = new Set<string>();
  /** Callers of `drain()` waiting for a stream's next round. */
  readonly #waiters = new Map<string, (() => void)[]>();
  readonly #rounds = new Set<Promise<void>>();
  readonly #roundsBySink = new Map<Sink, number>();
  /** Streams waiting for a retry time or another process's lease: a timer drains them then. */
  readonly #timers = new Map<string, { at: number; id: ReturnType<typeof setTimeout> }>();
  #sweeping: Promise<void> | null = null;
  #sweepTimer: ReturnType<typeof setInterval> | undefined;
  #heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  #listening: Promise<void> | null = null;
  #stopped = false;

  constructor(kv: Deno.Kv, options: WatcherOptions) {
    this.#kv = kv;
    this.#sinks = options.sinks;
    this.#batcher = options.batcher;
    this.#metrics = options.metrics;
    this.#retry = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.#leaseMs = options.leaseMs ?? 30_000;
    this.#sweepIntervalMs = options.sweepIntervalMs ?? 30_000;
    this.#pageSize = options.pageSize ?? 50;
    this.#concurrency = options.concurrency ?? 2;
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
  }

  /** Listens to the queue, sweeps what earlier processes left, and sweeps again periodically. */
  start(): void {
    if (this.#listening || this.#stopped) return;
    this.#listening = this.#kv.listenQueue((value) => this.handleMessage(value)).catch((err) => {
      if (!this.#stopped) console.error("outbox: queue listener stopped", err);
    });
    this.#sweepSoon();
    this.#sweepTimer = setInterval(() => this.#sweepSoon(), this.#sweepIntervalMs);
    this.#beat();
    this.#heartbeatTimer = setInterval(() => this.#beat(), HEARTBEAT_MS);
  }

  /** Settles once the queue listener has ended (after KV is closed). */
  get listening(): Promise<void> {
    return this.#listening ?? Promise.resolve();
  }

  /** The in-process fast path (the batcher's `onCommitted`): drains the woken streams now. */
  nudge(wake: unknown[]): void {
    if (this.#stopped) return;
    for (const w of uniqueWakes(wake)) this.#background(this.drain(w.sink, w.stream));
  }

  /**
   * Handles one queue message: drains the streams it names. Throws only when KV
   * itself fails, so that the queue retries the message.
   */
  async handleMessage(value: unknown): Promise<void> {
    if (this.#stopped || !isWakeMessage(value)) return;
    if (value.sweep) await this.sweep();
    await Promise.all(uniqueWakes(value.wake).map((w) => this.drain(w.sink, w.stream)));
  }

  /**
   * Delivers the stream's pending batches in order, in the next round of its
   * sink; resolves when that round is over.
   */
  drain(sink: Sink, stream: string, force = false): Promise<void> {
    if (!this.#sinks[sink] || this.#stopped) return Promise.resolve();
    const id = streamId(sink, stream);
    // A stream that waits for its retry time stays blocked however many commits add to it:
    // its timer (and the delayed queue wake) drain it then, so a down sink costs no reads per send.
    if (!force && (this.#timers.get(id)?.at ?? 0) > this.#now()) return Promise.resolve();
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#waiters.set(id, [...(this.#waiters.get(id) ?? []), resolve]);
    this.#queue(sink, stream);
    return promise;
  }

  /**
   * Finds every stream with pending rows (one read per stream) and drains it;
   * then picks up wake messages the queue gave up on.
   */
  sweep(): Promise<void> {
    if (this.#sweeping) return this.#sweeping;
    this.#sweeping = this.#sweepAll().finally(() => this.#sweeping = null);
    return this.#sweeping;
  }

  /** Resolves once no round runs, none is queued and no sweep runs (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.#rounds.size > 0 || this.#sweeping) {
      await Promise.allSettled([...this.#rounds, this.#sweeping]);
    }
  }

  /** Stops waking up and waits for the drains in flight; KV is closed by the owner. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#sweepTimer);
    clearInterval(this.#heartbeatTimer);
    for (const { id } of this.#timers.values()) clearTimeout(id);
    this.#timers.clear();
    await this.settled();
    if (this.#heartbeatTimer !== undefined) {
      await this.#kv.delete(keys.outboxOwner(this.#owner)).catch(() => {});
    }
  }

  /** Says "this watcher is alive" so that its leases hold; a crashed one's lapse within seconds. */
  #beat(): void {
    const until = this.#now() + HEARTBEAT_TTL_MS;
    this.#kv.set(keys.outboxOwner(this.#owner), { until }, { expireIn: HEARTBEAT_TTL_MS * 10 }).catch(() => {
      // A busy database: the next beat comes in a second, and a lapse only risks a duplicate.
    });
  }

  async #sweepAll(): Promise<void> {
    const found: [Sink, string][] = [];
    for (const sink of Object.keys(this.#sinks) as Sink[]) {
      const prefix = keys.outboxPending(sink);
      let start: Deno.KvKey | undefined;
      while (!this.#stopped) {
        const selector = start ? { prefix, start } : { prefix };
        const first = await firstEntry<OutboxBatch>(this.#kv, selector);
        if (!first) break;
        const stream = first.key[2] as string;
        const waitMs = (first.value.nextAttemptAt ?? 0) - this.#now();
        if (waitMs > 0) this.#later(sink, stream, waitMs);
        else found.push([sink, stream]);
        start = [...prefix, `${stream}\u0000`]; // the first key after every row of this stream
      }
    }
    // Queued together, so that they share rounds.
    const drains = found.map(([sink, stream]) => this.drain(sink, stream));
    for await (
      const lost of this.#kv.list<WakeMessage>({ prefix: keys.outboxLostWakes() }, { limit: 1000 })
    ) {
      if (this.#stopped) break;
      if (isWakeMessage(lost.value)) {
        for (const w of uniqueWakes(lost.value.wake)) drains.push(this.drain(w.sink, w.stream));
      }
      await this.#kv.delete(lost.key);
    }
    await Promise.all(drains);
  }

  /** Queues the stream; streams queued in the same tick start in the same round. */
  #queue(sink: Sink, stream: string): void {
    let queued = this.#queued.get(sink);
    if (!queued) this.#queued.set(sink, queued = new Set());
    const first = queued.size === 0;
    queued.add(stream);
    if (first) queueMicrotask(() => this.#pump(sink));
  }

  /** Starts rounds while streams wait and fewer than `concurrency` rounds of the sink run. */
  #pump(sink: Sink): void {
    const queued = this.#queued.get(sink);
    while (
      queued && queued.size > 0 && !this.#stopped && (this.#roundsBySink.get(sink) ?? 0) < this.#concurrency
    ) {
      const streams: string[] = [];
      for (const stream of queued) {
        if (this.#inRound.has(streamId(sink, stream))) continue; // goes in a round after this one
        queued.delete(stream);
        streams.push(stream);
        if (streams.length === STREAMS_PER_ROUND) break;
      }
      if (streams.length === 0) return;
      const ids = streams.map((stream) => streamId(sink, stream));
      const waiters = ids.flatMap((id) => this.#waiters.get(id) ?? []);
      for (const id of ids) {
        this.#inRound.add(id);
        this.#waiters.delete(id);
      }
      this.#roundsBySink.set(sink, (this.#roundsBySink.get(sink) ?? 0) + 1);
      const round = this.#round(sink, streams).catch((err) => {
        if (!this.#stopped) console.error("outbox: drain round failed, the sweep will retry", err);
      }).finally(() => {
        for (const id of ids) this.#inRound.delete(id);
        this.#roundsBySink.set(sink, this.#roundsBySink.get(sink)! - 1);
        this.#rounds.delete(round);
        for (const resolve of waiters) resolve();
        this.#pump(sink);
      });
      this.#rounds.add(round);
    }
  }

  /**
   * One round over several streams of a sink: reads a page of each, takes the
   * leases of those with batches due, hands every due batch to the sink in
   * stream order, then deletes what went out and lets the leases go, together.
   */
  async #round(sink: Sink, streams: string[]): Promise<void> {
    const pages = await Promise.all(streams.map((stream) => this.#listRows(sink, stream)));
    const now = this.#now();
    const work: { stream: string; rows: Row[]; due: Row[] }[] = [];
    streams.forEach((stream, i) => {
      const rows = pages[i]!;
      if (rows.length === 0) return;
      const due = leadingDue(rows, now);
      if (due.length === 0) this.#later(sink, stream, rows[0]!.value.nextAttemptAt! - now);
      else work.push({ stream, rows, due });
    });
    if (work.length === 0) return;
    const leases = await this.#acquireLeases(sink, work.map((w) => w.stream));
    const leased = work.filter((w) => {
      const lease = leases.get(w.stream)!;
      if (!lease.ok) this.#later(sink, w.stream, lease.retryInMs);
      return lease.ok;
    });
    if (leased.length === 0) return;

    const batches = leased.flatMap((w) => w.due);
    const report = await safeDeliver(this.#sinks[sink]!, batches.map((r) => r.value));
    const error = report.error ?? new Error("The sink delivered only some of the batches");
    const delivered = batches.slice(0, report.delivered);
    this.#metrics?.delivered(sink, delivered.map((r) => r.value.createdAt), this.#now());
    await this.#finishRound(sink, delivered, leased.map((w) => [w.stream, leases.get(w.stream)!]));

    let offset = 0;
    for (const { stream, rows, due } of leased) {
      const done = Math.min(Math.max(report.delivered - offset, 0), due.length);
      offset += due.length;
      if (done < due.length) {
        await this.#afterFailure(
          sink,
          stream,
          due[done]!,
          error,
          offset - due.length + done === report.delivered,
        );
      } else if (due.length < rows.length) {
        this.#later(sink, stream, rows[due.length]!.value.nextAttemptAt! - this.#now());
      } else if (rows.length === this.#pageSize) {
        this.#queue(sink, stream); // more pages may follow
      }
    }
  }

  /**
   * The sink stopped at `failing` (or before reaching this stream's `row`). The
   * failing batch counts an attempt; so does every stream behind it when the
   * sink is unreachable, as it would have been for them alone. Behind a batch
   * that can never pass, the other streams simply go on in the next round.
   */
  async #afterFailure(sink: Sink, stream: string, row: Row, error: unknown, failing: boolean): Promise<void> {
    if (!failing && error instanceof PermanentDeliveryError) return this.#queue(sink, stream);
    if ((await this.#recordFailure(sink, row, error)) === "dead") this.#queue(sink, stream);
  }

  async #listRows(sink: Sink, stream: string): Promise<Row[]> {
    const rows: Row[] = [];
    const iter = this.#kv.list<OutboxBatch>({ prefix: keys.outboxPending(sink, stream) }, {
      limit: this.#pageSize,
    });
    for await (const entry of iter) rows.push(entry);
    return rows;
  }

  /** Deletes the delivered rows and lets the round's leases go, in one group commit. */
  async #finishRound(sink: Sink, delivered: Row[], leases: [string, HeldLease][]): Promise<void> {
    const deletes: Deno.KvMutation[] = delivered.map((r) => ({
      type: "delete",
      key: keys.outbox(sink, r.value.stream, r.value.order),
    }));
    const held = leases.flatMap(([stream, lease]) =>
      lease.ok ? [{ key: keys.outboxLease(sink, stream), versionstamp: lease.versionstamp }] : []
    );
    const unit = (checks: Deno.AtomicCheck[], mutations: Deno.KvMutation[]) => ({
      checks,
      mutations,
      bytes: mutations.reduce((n, m) => n + estimateBytes(m.key), 0),
    });
    const released: Deno.KvMutation[] = held.map(({ key }) => ({ type: "delete", key }));
    if ((await this.#batcher.commit(unit(held, [...deletes, ...released]))).ok) return;
    // A lease lapsed and another process took the stream: delete what went out all the same
    // (it was delivered), and leave that process's lease alone.
    if (deletes.length > 0) await this.#batcher.commit(unit([], deletes));
    for (const check of held) {
      await this.#batcher.commit(unit([check], [{ type: "delete", key: check.key }]));
    }
  }

  /**
   * Counts a failed attempt on the row, under a check: schedules a retry with
   * backoff (a delayed wake in the same commit), or moves the batch to the
   * dead-letter area when it has no attempt left or can never succeed.
   */
  async #recordFailure(sink: Sink, row: Row, error: unknown): Promise<"retry" | "dead"> {
    const batch = row.value;
    const attempts = batch.attempts + 1;
    const lastError = describeError(error);
    const now = this.#now();
    const key = keys.outbox(sink, batch.stream, batch.order);
    const id = batchId(sink, batch.stream, batch.order);
    if (error instanceof PermanentDeliveryError || isExhausted(attempts, this.#retry)) {
      const dead: DeadBatch = { ...batch, sink, attempts, lastError, deadAt: now };
      delete dead.nextAttemptAt;
      const deadKey = keys.outboxDead(sink, batch.stream, batch.order);
      if ((await this.#kv.atomic().check(row).delete(key).set(deadKey, dead).commit()).ok) {
        this.#metrics?.failed(sink);
        this.#metrics?.dead(sink);
        console.error(`outbox: ${id} is dead after ${attempts} attempt(s): ${lastError}`);
      }
      return "dead";
    }
    const delayMs = retryDelay(attempts, this.#retry, this.#random);
    const next: OutboxBatch = { ...batch, attempts, lastError, nextAttemptAt: now + delayMs };
    const wake = wakeQueueMessage([{ sink, stream: batch.stream }], { delayMs });
    const op = this.#kv.atomic().check(row).set(key, next).enqueue(wake.value, wake.options);
    if ((await op.commit()).ok) {
      this.#metrics?.failed(sink);
      console.warn(`outbox: ${id} attempt ${attempts} failed, next in ${delayMs} ms: ${lastError}`);
    }
    this.#later(sink, batch.stream, delayMs);
    return "retry";
  }

  /**
   * Takes the leases of the streams in one commit. A stream whose lease another
   * live watcher holds is left out (with when to look again).
   */
  async #acquireLeases(sink: Sink, streams: string[]): Promise<Map<string, HeldLease>> {
    const leaseKeys = streams.map((stream) => keys.outboxLease(sink, stream));
    const entries = await getManyChunked<OutboxLease>(this.#kv, leaseKeys);
    const now = this.#now();
    const foreign = [
      ...new Set(
        entries.flatMap((e) =>
          e.value && e.value.owner !== this.#owner && e.value.until > now ? [e.value.owner] : []
        ),
      ),
    ];
    const beats = await getManyChunked<{ until: number }>(
      this.#kv,
      foreign.map((owner) => keys.outboxOwner(owner)),
    );
    const beatOf = new Map(foreign.map((owner, i) => [owner, beats[i]!.value]));
    const out = new Map<string, HeldLease>();
    const free: number[] = [];
    entries.forEach((entry, i) => {
      const lease = entry.value;
      if (lease && lease.owner !== this.#owner && lease.until > now) {
        // Held by a watcher that still beats (or that never did: a lease without heartbeat counts as is).
        const beat = beatOf.get(lease.owner);
        if (beat === null || beat === undefined || beat.until > now) {
          const expires = Math.min(lease.until, beat?.until ?? Infinity);
          out.set(streams[i]!, {
            ok: false,
            retryInMs: Math.max(LEASE_POLL_MS, Math.min(1000, expires - now)),
          });
          return;
        }
      }
      free.push(i);
    });
    if (free.length === 0) return out;
    const until = now + this.#leaseMs;
    const value: OutboxLease = { owner: this.#owner, until };
    const result = await this.#batcher.commit({
      checks: free.map((i) => entries[i]!),
      mutations: free.map((i) => ({ type: "set", key: leaseKeys[i]!, value, expireIn: this.#leaseMs * 4 })),
      bytes: free.reduce((n, i) => n + estimateBytes(leaseKeys[i]!, value), 0),
    });
    for (const i of free) {
      // A failed check: another process took one of them meanwhile; all look again shortly.
      out.set(
        streams[i]!,
        result.ok
          ? { ok: true, until, versionstamp: result.versionstamp }
          : { ok: false, retryInMs: LEASE_POLL_MS },
      );
    }
    return out;
  }

  /** Drains the stream again after `delayMs` (the earliest of the requested times wins). */
  #later(sink: Sink, stream: string, delayMs: number): void {
    if (this.#stopped) return;
    const id = streamId(sink, stream);
    const at = this.#now() + Math.max(0, delayMs);
    const existing = this.#timers.get(id);
    if (existing && existing.at <= at) return;
    if (existing) clearTimeout(existing.id);
    const timer = setTimeout(() => {
      this.#timers.delete(id);
      this.#background(this.drain(sink, stream, true));
    }, Math.max(0, delayMs));
    this.#timers.set(id, { at, id: timer });
  }

  #sweepSoon(): void {
    this.#background(this.sweep());
  }

  #background(work: Promise<void>): void {
    work.catch((err) => {
      if (!this.#stopped) console.error("outbox: drain failed, the sweep will retry", err);
    });
  }
}

type HeldLease = { ok: true; until: number; versionstamp: string } | { ok: false; retryInMs: number };

/** The rows at the head of the page that are due now; a row waiting for its retry stops the stream. */
function leadingDue(rows: Row[], now: number): Row[] {
  const stop = rows.findIndex((r) => (r.value.nextAttemptAt ?? 0) > now);
  return stop < 0 ? rows : rows.slice(0, stop);
}

/** A sink that throws is treated as having delivered nothing. */
async function safeDeliver(adapter: OutboxSink, batches: OutboxBatch[]) {
  try {
    const report = await adapter.deliver(batches);
    return { delivered: Math.min(Math.max(0, report.delivered), batches.length), error: report.error };
  } catch (error) {
    return { delivered: 0, error: error ?? new Error("Sink failed") };
  }
}

async function firstEntry<T>(kv: Deno.Kv, selector: Deno.KvListSelector): Promise<Deno.KvEntry<T> | null> {
  for await (const entry of kv.list<T>(selector, { limit: 1 })) return entry;
  return null;
}

function uniqueWakes(wake: unknown[]): Wake[] {
  const seen = new Map<string, Wake>();
  for (const w of wake) {
    if (typeof w !== "object" || w === null) continue;
    const { sink, stream } = w as Wake;
    if ((sink === "realtime" || sink === "push") && typeof stream === "string") {
      seen.set(streamId(sink, stream), { sink, stream });
    }
  }
  return [...seen.values()];
}

function streamId(sink: string, stream: string): string {
  return `${sink}\u0000${stream}`;
}
