/**
 * @module The outbox watcher: wakes on queue messages (and in-process right
 * after a commit), drains each stream in order, one drainer per stream, retries
 * failures with backoff and moves exhausted batches to the dead-letter area.
 * Every commit it makes fits KV's limits whatever the backlog, and a delivered
 * batch is deleted before its stream is listed again.
 */
import type { CommitBatcher } from "../storage/commit_batcher.ts";
import { parseKey } from "../storage/key_parsers.ts";
import { keys } from "../storage/keys.ts";
import { getManyChunked } from "../storage/kv.ts";
import { DEFAULT_RETRY_POLICY, isExhausted, retryDelay, type RetryPolicy } from "./backoff.ts";
import { countMove, forgetAges, pendingState } from "./counters.ts";
import { pushCounters } from "../stats/counters.ts";
import type { OutboxMetrics } from "./metrics.ts";
import { batchId, type DeadBatch, type OutboxBatch, type Sink, type WakeMessage } from "./outbox.ts";
import {
  chunkRows,
  deleteUnit,
  leadingDue,
  type Row,
  safeDeliver,
  sameKey,
  sliceByBatches,
  type StreamWork,
} from "./round_rows.ts";
import { isWakeMessage, streamId, uniqueWakes, wakeQueueMessage } from "./wake.ts";
import { describeError, type OutboxSink, PermanentDeliveryError } from "./sink.ts";
import { HEARTBEAT_MS, StreamLeases } from "./stream_leases.ts";

/** How the watcher runs. */
export interface WatcherOptions {
  /** Adapters by sink; streams of a sink without one stay pending. */
  sinks: Partial<Record<Sink, OutboxSink>>;
  /** Deletes of delivered rows and lease writes are group-committed through it. */
  batcher: CommitBatcher;
  metrics?: OutboxMetrics;
  retry?: Partial<RetryPolicy>;
  /** How long a lease lasts before another process may take the stream over; renewed while a round runs. */
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

/** Streams drained together in one round: their leases taken together, their events published together. */
const STREAMS_PER_ROUND = 64;
/**
 * Batches handed to the sink in one call. Between calls the round deletes what
 * went out and drops streams whose lease it lost, so a long round stays in step.
 */
const BATCHES_PER_CALL = 100;
/** Attempts at a commit that throws (a busy or failing store) before the watcher tries again later. */
const COMMIT_ATTEMPTS = 5;
/** When to look again at a stream whose delivered rows could not be deleted yet, or whose round failed. */
const RECOVER_MS = 1000;

/** Drains the outbox of one process. */
export class OutboxWatcher {
  readonly #kv: Deno.Kv;
  readonly #sinks: Partial<Record<Sink, OutboxSink>>;
  readonly #batcher: CommitBatcher;
  readonly #metrics?: OutboxMetrics;
  readonly #retry: RetryPolicy;
  readonly #sweepIntervalMs: number;
  readonly #pageSize: number;
  readonly #concurrency: number;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #leases: StreamLeases;
  /** Streams waiting for the next round, by sink. */
  readonly #queued = new Map<Sink, Set<string>>();
  /** Streams in a round right now: a stream is never in two rounds at once. */
  readonly #inRound = new Set<string>();
  /** Streams this process just committed to (nudged): their next round lists them without probing first. */
  readonly #fresh = new Set<string>();
  /** Callers of `drain()` waiting for a stream's next round. */
  readonly #waiters = new Map<string, (() => void)[]>();
  readonly #rounds = new Set<Promise<void>>();
  readonly #roundsBySink = new Map<Sink, number>();
  /** Streams waiting for a retry time or another process's lease: a timer drains them then. */
  readonly #timers = new Map<string, { at: number; id: ReturnType<typeof setTimeout> }>();
  /** Rows delivered whose delete has not committed yet, by stream: deleted before the stream is listed again. */
  readonly #undeleted = new Map<string, Row[]>();
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
    this.#sweepIntervalMs = options.sweepIntervalMs ?? 30_000;
    this.#pageSize = options.pageSize ?? 50;
    this.#concurrency = options.concurrency ?? 2;
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
    this.#leases = new StreamLeases(kv, options.batcher, {
      owner: crypto.randomUUID(),
      leaseMs: options.leaseMs ?? 30_000,
      now: this.#now,
    });
  }

  /** Listens to the queue, sweeps what earlier processes left, and sweeps again periodically. */
  start(): void {
    if (this.#listening || this.#stopped) return;
    this.#listening = this.#kv.listenQueue((value) => this.handleMessage(value)).catch((err) => {
      if (!this.#stopped) console.error("outbox: queue listener stopped", err);
    });
    this.#sweepSoon();
    this.#sweepTimer = setInterval(() => this.#sweepSoon(), this.#sweepIntervalMs);
    this.#leases.beat();
    this.#heartbeatTimer = setInterval(() => this.#leases.beat(), HEARTBEAT_MS);
  }

  /** Settles once the queue listener has ended (after KV is closed). */
  get listening(): Promise<void> {
    return this.#listening ?? Promise.resolve();
  }

  /** The in-process fast path (the batcher's `onCommitted`): drains the woken streams now. */
  nudge(wake: unknown[]): void {
    if (this.#stopped) return;
    for (const w of uniqueWakes(wake)) {
      if (this.#sinks[w.sink]) this.#fresh.add(streamId(w.sink, w.stream));
      this.#background(this.drain(w.sink, w.stream));
    }
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
    // Queued streams get no round any more: whoever waits for them (a sweep, a queue message) goes on.
    this.#queued.clear();
    this.#fresh.clear();
    for (const resolve of [...this.#waiters.values()].flat()) resolve();
    this.#waiters.clear();
    await this.settled();
    if (this.#undeleted.size > 0) {
      const rows = [...this.#undeleted.values()].reduce((n, r) => n + r.length, 0);
      console.error(`outbox: stopping with ${rows} delivered batch(es) not deleted; they will be sent again`);
    }
    if (this.#heartbeatTimer !== undefined) await this.#leases.retire();
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
        const { stream } = parseKey.outbox(first.key);
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
        if (this.#stopped) return;
        // KV failed under the round: its streams are looked at again shortly, not only at the next sweep.
        console.error("outbox: drain round failed; its streams are tried again in a second", err);
        for (const stream of streams) this.#later(sink, stream, RECOVER_MS);
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
   * One round over several streams of a sink: finds those with a batch due,
   * takes their leases, and only then lists their pages (so no page predates
   * another process's delivery); hands the due batches to the sink in stream
   * order, a slice at a time, deleting what went out after each slice and
   * renewing the leases while it runs; then lets the leases go.
   */
  async #round(sink: Sink, streams: string[]): Promise<void> {
    // A stream this process just committed to has a row due (one waiting for a retry has a timer, and its
    // nudges are ignored): probing it first would only cost a read. The page listed under the lease decides.
    const fresh = streams.filter((stream) => this.#fresh.delete(streamId(sink, stream)));
    const others = streams.filter((stream) => !fresh.includes(stream));
    const due = others.length === 0 ? fresh : [...fresh, ...await this.#streamsWithDueRows(sink, others)];
    if (due.length === 0) return;
    const answers = await this.#leases.acquire(sink, due);
    const leased = due.filter((stream) => {
      const answer = answers.get(stream)!;
      if (!answer.ok) this.#later(sink, stream, answer.retryInMs);
      return answer.ok;
    });
    if (leased.length === 0) return;
    const lost = new Set<string>();
    let renewing: Promise<void> | null = null;
    const renewal = setInterval(() => {
      renewing ??= this.#leases.renew(sink, leased.filter((s) => !lost.has(s)))
        .then((gone) => gone.forEach((s) => lost.add(s)), () => {})
        .finally(() => renewing = null);
    }, Math.max(10, Math.floor(this.#leases.leaseMs / 3)));
    try {
      await this.#deliverLeased(sink, leased, lost);
    } finally {
      clearInterval(renewal);
      await renewing;
      // A stream whose delivered rows are not all deleted keeps its lease until they are.
      const release = leased.filter((s) => !lost.has(s) && !this.#undeleted.has(streamId(sink, s)));
      await this.#leases.release(sink, release);
    }
  }

  /** The streams whose first row is due now (one small read each); the others get a timer. */
  async #streamsWithDueRows(sink: Sink, streams: string[]): Promise<string[]> {
    const firsts = await Promise.all(
      streams.map((stream) =>
        firstEntry<OutboxBatch>(this.#kv, { prefix: keys.outboxPending(sink, stream) })
      ),
    );
    const now = this.#now();
    return streams.filter((stream, i) => {
      const first = firsts[i];
      if (!first) return false;
      const waitMs = (first.value.nextAttemptAt ?? 0) - now;
      if (waitMs > 0) this.#later(sink, stream, waitMs);
      return waitMs <= 0;
    });
  }

  async #deliverLeased(sink: Sink, leased: string[], lost: Set<string>): Promise<void> {
    // Rows an earlier round delivered but could not delete go first; a stream whose rows still stay waits.
    const ready: string[] = [];
    for (const stream of leased) {
      const left = this.#undeleted.get(streamId(sink, stream));
      if (left && !(await this.#deleteDelivered(sink, stream, left))) this.#later(sink, stream, RECOVER_MS);
      else ready.push(stream);
    }
    const pages = await Promise.all(ready.map((stream) => this.#listRows(sink, stream)));
    const now = this.#now();
    const work: StreamWork[] = [];
    ready.forEach((stream, i) => {
      const rows = pages[i]!;
      if (rows.length === 0) return;
      const due = leadingDue(rows, now);
      if (due.length === 0) this.#later(sink, stream, rows[0]!.value.nextAttemptAt! - now);
      else work.push({ stream, rows, due });
    });

    const deletions: Promise<boolean>[] = [];
    const slices = sliceByBatches(work, BATCHES_PER_CALL);
    for (const [n, slice] of slices.entries()) {
      const live = slice.filter((w) => !lost.has(w.stream));
      if (this.#stopped) break; // what is left stays pending for the next watcher
      if (live.length === 0) continue;
      const batches = live.flatMap((w) => w.due);
      const report = await safeDeliver(this.#sinks[sink]!, batches.map((r) => r.value));
      let offset = 0;
      for (const w of live) {
        const done = Math.min(Math.max(report.delivered - offset, 0), w.due.length);
        offset += w.due.length;
        // All its due rows went out: the delete of the last ones lets the lease go in the same commit.
        if (done > 0) {
          deletions.push(this.#deleteDelivered(sink, w.stream, w.due.slice(0, done), done === w.due.length));
        }
      }
      this.#metrics?.delivered(
        sink,
        batches.slice(0, report.delivered).map((r) => r.value.createdAt),
        this.#now(),
      );
      if (report.delivered < batches.length) {
        const error = report.error ?? new Error("The sink delivered only some of the batches");
        const behind = slices.slice(n + 1).flat().filter((w) => !lost.has(w.stream));
        await this.#afterFailure(sink, live, behind, report.delivered, error);
        await Promise.all(deletions);
        return;
      }
      for (const w of live) this.#followUp(sink, w);
    }
    await Promise.all(deletions);
  }

  /** After a stream's due rows all went out: its later rows wait for their time, or the next page follows. */
  #followUp(sink: Sink, { stream, rows, due }: StreamWork): void {
    if (due.length < rows.length) {
      this.#later(sink, stream, rows[due.length]!.value.nextAttemptAt! - this.#now());
    } else if (rows.length === this.#pageSize) {
      this.#queue(sink, stream); // more pages may follow
    }
  }

  /**
   * The sink stopped at batch `delivered` of the slice. The failing batch
   * counts an attempt; so does the first batch of every stream behind it when
   * the sink is unreachable, as it would have been for them alone. Behind a
   * batch that can never pass, the other streams simply go on in the next round.
   */
  async #afterFailure(
    sink: Sink,
    slice: StreamWork[],
    behind: StreamWork[],
    delivered: number,
    error: unknown,
  ): Promise<void> {
    const failures: Promise<void>[] = [];
    const fail = (stream: string, row: Row, failing: boolean) => {
      if (!failing && error instanceof PermanentDeliveryError) return this.#queue(sink, stream);
      failures.push(
        this.#recordFailure(sink, row, error).then((state) => {
          if (state === "dead") this.#queue(sink, stream);
        }),
      );
    };
    let offset = 0;
    for (const w of slice) {
      const done = Math.min(Math.max(delivered - offset, 0), w.due.length);
      const failing = offset + done === delivered && done < w.due.length;
      offset += w.due.length;
      if (done === w.due.length) this.#followUp(sink, w);
      else fail(w.stream, w.due[done]!, failing);
    }
    for (const w of behind) fail(w.stream, w.due[0]!, false);
    await Promise.all(failures);
  }

  async #listRows(sink: Sink, stream: string): Promise<Row[]> {
    const rows: Row[] = [];
    const iter = this.#kv.list<OutboxBatch>({ prefix: keys.outboxPending(sink, stream) }, {
      limit: this.#pageSize,
    });
    for await (const entry of iter) rows.push(entry);
    return rows;
  }

  /**
   * Deletes delivered rows, each under a check on the row as listed and with
   * its counter, in commits that fit KV's limits. A row changed meanwhile (a
   * lease lapsed and another process recorded a failure) is read again and
   * deleted as it now is; a commit that throws is tried again with backoff.
   * With `release`, the first attempt's last commit also lets the stream's
   * lease go (under a check on it); if that commit is refused, the rows are
   * deleted without it and the round releases the lease as usual.
   * Returns false when rows are left: they stay in `#undeleted`, and the stream
   * is not listed again until they are gone.
   */
  async #deleteDelivered(sink: Sink, stream: string, rows: Row[], release = false): Promise<boolean> {
    let left = rows;
    for (let attempt = 0; left.length > 0 && attempt < COMMIT_ATTEMPTS; attempt++) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
      try {
        const refused: Row[] = [];
        const chunks = chunkRows(left);
        for (const [n, part] of chunks.entries()) {
          const unit = deleteUnit(sink, part);
          const lease = release && attempt === 0 && n === chunks.length - 1
            ? this.#leases.releaseParts(sink, stream)
            : null;
          if (lease) {
            unit.checks.push(...lease.checks);
            unit.mutations.push(...lease.mutations);
            unit.bytes += lease.bytes;
          }
          let ok = false;
          try {
            ok = (await this.#batcher.commit(unit)).ok;
          } finally {
            if (lease) this.#leases.settleRelease(sink, stream, ok);
          }
          if (!ok) refused.push(...part);
        }
        left = await this.#reread(refused);
      } catch (err) {
        if (attempt === COMMIT_ATTEMPTS - 1) {
          console.error(`outbox: deleting delivered rows of ${stream}`, err);
        }
      }
    }
    const id = streamId(sink, stream);
    const others = (this.#undeleted.get(id) ?? []).filter((r) => !rows.some((done) => sameKey(done, r)));
    const still = [...others, ...left];
    if (still.length > 0) this.#undeleted.set(id, still);
    else this.#undeleted.delete(id);
    return left.length === 0;
  }

  /** The rows that still exist, at their current versions. */
  async #reread(rows: Row[]): Promise<Row[]> {
    if (rows.length === 0) return [];
    const entries = await getManyChunked<OutboxBatch>(this.#kv, rows.map((r) => r.key));
    return entries.flatMap((e) => (e.versionstamp === null ? [] : [e as Row]));
  }

  /**
   * Counts a failed attempt on the row, under a check: schedules a retry with
   * backoff (a delayed wake in the same commit), or moves the batch to the
   * dead-letter area when it has no attempt left or can never succeed. The
   * counters move in the same commit.
   */
  async #recordFailure(sink: Sink, row: Row, error: unknown): Promise<"retry" | "dead"> {
    const batch = row.value;
    const attempts = batch.attempts + 1;
    const lastError = describeError(error);
    const now = this.#now();
    const key = keys.outbox(sink, batch.stream, batch.order);
    const id = batchId(sink, batch.stream, batch.order);
    const from = pendingState(batch);
    const counted = sink === "push" ? pushCounters("failed", now) : []; // operators' push outcomes
    if (error instanceof PermanentDeliveryError || isExhausted(attempts, this.#retry)) {
      const dead: DeadBatch = { ...batch, sink, attempts, lastError, deadAt: now };
      delete dead.nextAttemptAt;
      const deadKey = keys.outboxDead(sink, batch.stream, batch.order);
      const op = this.#kv.atomic().check(row).delete(key).set(deadKey, dead).mutate(
        ...countMove(sink, from, "dead"),
        ...counted,
        ...forgetAges(sink, [batch]),
      );
      if ((await op.commit()).ok) {
        this.#metrics?.failed(sink);
        this.#metrics?.dead(sink);
        console.error(`outbox: ${id} is dead after ${attempts} attempt(s): ${lastError}`);
      }
      return "dead";
    }
    const delayMs = retryDelay(attempts, this.#retry, this.#random);
    const next: OutboxBatch = { ...batch, attempts, lastError, nextAttemptAt: now + delayMs };
    const wake = wakeQueueMessage([{ sink, stream: batch.stream }], { delayMs });
    const op = this.#kv.atomic().check(row).set(key, next)
      .mutate(...countMove(sink, from, "retrying"), ...counted)
      .enqueue(wake.value, wake.options);
    if ((await op.commit()).ok) {
      this.#metrics?.failed(sink);
      console.warn(`outbox: ${id} attempt ${attempts} failed, next in ${delayMs} ms: ${lastError}`);
    }
    this.#later(sink, batch.stream, delayMs);
    return "retry";
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

async function firstEntry<T>(kv: Deno.Kv, selector: Deno.KvListSelector): Promise<Deno.KvEntry<T> | null> {
  for await (const entry of kv.list<T>(selector, { limit: 1 })) return entry;
  return null;
}
