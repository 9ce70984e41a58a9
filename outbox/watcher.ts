/**
 * @module The outbox watcher: wakes on queue messages (and in-process right
 * after a commit), drains each stream in order, one drainer per stream, retries
 * failures with backoff and moves exhausted batches to the dead-letter area.
 */
import type { CommitBatcher, QueueMessage } from "../storage/commit_batcher.ts";
import { estimateBytes } from "../storage/commit_batcher.ts";
import { keys } from "../storage/keys.ts";
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
  /** Rows read and handed to a sink at once. */
  pageSize?: number;
  /** Streams drained at once by this process. */
  concurrency?: number;
  now?: () => number;
  random?: () => number;
}

/** The queue options of a wake message: the queue retries a failing handler, then parks it. */
const WAKE_BACKOFF_SCHEDULE = [1000, 5000, 30_000, 120_000];
/** A wake message stays well below KV's 64 KiB value limit; bigger ones ask for a sweep. */
const MAX_WAKE_MESSAGE_BYTES = 32 * 1024;
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

interface StreamRun {
  again: boolean;
  done: Promise<void>;
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
  readonly #runs = new Map<string, StreamRun>();
  /** Streams waiting for a retry time or another process's lease: a timer drains them then. */
  readonly #timers = new Map<string, { at: number; id: ReturnType<typeof setTimeout> }>();
  readonly #waiting: (() => void)[] = [];
  #active = 0;
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
    this.#concurrency = options.concurrency ?? 16;
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
   * Delivers the stream's pending batches in order, unless this process is
   * already doing so (then that run goes on once more and this resolves with it).
   */
  drain(sink: Sink, stream: string, force = false): Promise<void> {
    if (!this.#sinks[sink] || this.#stopped) return Promise.resolve();
    const id = streamId(sink, stream);
    // A stream that waits for its retry time stays blocked however many commits add to it:
    // its timer (and the delayed queue wake) drain it then, so a down sink costs no reads per send.
    if (!force && (this.#timers.get(id)?.at ?? 0) > this.#now()) return Promise.resolve();
    const running = this.#runs.get(id);
    if (running) {
      running.again = true;
      return running.done;
    }
    const run: StreamRun = { again: false, done: Promise.resolve() };
    this.#runs.set(id, run);
    run.done = (async () => {
      try {
        do {
          run.again = false;
          await this.#withSlot(() => this.#drainOnce(sink, stream));
        } while (run.again && !this.#stopped);
      } finally {
        this.#runs.delete(id);
      }
    })();
    return run.done;
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

  /** Resolves once no stream is being drained and no sweep runs (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.#runs.size > 0 || this.#sweeping) {
      await Promise.allSettled([...[...this.#runs.values()].map((r) => r.done), this.#sweeping]);
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
    const drains: Promise<void>[] = [];
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
        else drains.push(this.drain(sink, stream));
        start = [...prefix, `${stream}\u0000`]; // the first key after every row of this stream
      }
    }
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

  /** One pass over a stream: until it is empty, waits for a retry, or another process holds it. */
  async #drainOnce(sink: Sink, stream: string): Promise<void> {
    const adapter = this.#sinks[sink]!;
    let rows = await this.#listRows(sink, stream);
    let lease: HeldLease = NOT_HELD;
    try {
      while (rows.length > 0 && !this.#stopped) {
        const now = this.#now();
        const due = leadingDue(rows, now);
        if (due.length === 0) return this.#later(sink, stream, rows[0]!.value.nextAttemptAt! - now);
        if (!lease.ok) {
          lease = await this.#acquireLease(sink, stream);
          if (!lease.ok) return this.#later(sink, stream, lease.retryInMs);
        } else if (lease.until - now < this.#leaseMs / 2) {
          lease = await this.#renewLease(sink, stream, lease);
          if (!lease.ok) return;
        }
        const report = await safeDeliver(adapter, due.map((r) => r.value));
        const delivered = due.slice(0, report.delivered);
        this.#metrics?.delivered(sink, delivered.map((r) => r.value.createdAt), this.#now());
        if (report.error === undefined && due.length === rows.length && rows.length < this.#pageSize) {
          // Probably the end of the stream: let go of the lease in the same group commit.
          const held = lease;
          lease = NOT_HELD;
          await Promise.all([
            this.#deleteRows(sink, stream, delivered),
            this.#releaseLease(sink, stream, held),
          ]);
        } else {
          await this.#deleteRows(sink, stream, delivered);
        }
        if (report.error !== undefined) {
          const failed = due[report.delivered];
          if (failed && (await this.#recordFailure(sink, failed, report.error)) === "retry") return;
        }
        rows = await this.#listRows(sink, stream);
      }
    } finally {
      if (lease.ok) await this.#releaseLease(sink, stream, lease).catch(() => {});
    }
  }

  async #listRows(sink: Sink, stream: string): Promise<Row[]> {
    const rows: Row[] = [];
    const iter = this.#kv.list<OutboxBatch>({ prefix: keys.outboxPending(sink, stream) }, {
      limit: this.#pageSize,
    });
    for await (const entry of iter) rows.push(entry);
    return rows;
  }

  async #deleteRows(sink: Sink, stream: string, rows: Row[]): Promise<void> {
    if (rows.length === 0) return;
    const mutations: Deno.KvMutation[] = rows.map((r) => ({
      type: "delete",
      key: keys.outbox(sink, stream, r.value.order),
    }));
    await this.#batcher.commit({
      checks: [],
      mutations,
      bytes: mutations.reduce((n, m) => n + estimateBytes(m.key), 0),
    });
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

  async #acquireLease(sink: Sink, stream: string): Promise<HeldLease> {
    const key = keys.outboxLease(sink, stream);
    const entry = await this.#kv.get<OutboxLease>(key);
    const now = this.#now();
    if (entry.value && entry.value.owner !== this.#owner && entry.value.until > now) {
      // Held by a watcher that still beats (or that never did: a lease without heartbeat counts as is).
      const beat = (await this.#kv.get<{ until: number }>(keys.outboxOwner(entry.value.owner))).value;
      if (beat === null || beat.until > now) {
        const expires = Math.min(entry.value.until, beat?.until ?? Infinity);
        return { ok: false, retryInMs: Math.max(LEASE_POLL_MS, Math.min(1000, expires - now)) };
      }
    }
    const until = now + this.#leaseMs;
    const value: OutboxLease = { owner: this.#owner, until };
    const result = await this.#batcher.commit({
      checks: [entry],
      mutations: [{ type: "set", key, value, expireIn: this.#leaseMs * 4 }],
      bytes: estimateBytes(key, value),
    });
    return result.ok
      ? { ok: true, until, versionstamp: result.versionstamp }
      : { ok: false, retryInMs: LEASE_POLL_MS };
  }

  async #renewLease(sink: Sink, stream: string, lease: HeldLease): Promise<HeldLease> {
    if (!lease.ok) return lease;
    const key = keys.outboxLease(sink, stream);
    const until = this.#now() + this.#leaseMs;
    const value: OutboxLease = { owner: this.#owner, until };
    const result = await this.#batcher.commit({
      checks: [{ key, versionstamp: lease.versionstamp }],
      mutations: [{ type: "set", key, value, expireIn: this.#leaseMs * 4 }],
      bytes: estimateBytes(key, value),
    });
    return result.ok ? { ok: true, until, versionstamp: result.versionstamp } : { ok: false, retryInMs: 0 };
  }

  async #releaseLease(sink: Sink, stream: string, lease: HeldLease): Promise<void> {
    if (!lease.ok) return;
    const key = keys.outboxLease(sink, stream);
    await this.#batcher.commit({
      checks: [{ key, versionstamp: lease.versionstamp }],
      mutations: [{ type: "delete", key }],
      bytes: estimateBytes(key),
    });
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

  async #withSlot<T>(fn: () => Promise<T>): Promise<T> {
    while (this.#active >= this.#concurrency) {
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    }
    this.#active++;
    try {
      return await fn();
    } finally {
      this.#active--;
      this.#waiting.shift()?.();
    }
  }
}

type HeldLease = { ok: true; until: number; versionstamp: string } | { ok: false; retryInMs: number };

const NOT_HELD: HeldLease = { ok: false, retryInMs: 0 };

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
