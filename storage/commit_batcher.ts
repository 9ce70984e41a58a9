/**
 * @module Group commit across rooms: units of work submitted concurrently are
 * folded into one `kv.atomic()` within KV's limits, each keeping its own checks.
 */
import { keyBytes } from "./kv_size.ts";

/** One caller's share of a commit: what it checked, what it writes, what it wakes. */
export interface CommitUnit {
  checks: Deno.AtomicCheck[];
  mutations: Deno.KvMutation[];
  /** Items for the commit's single queue message (outbox wake-ups). */
  wake?: unknown[];
  /** Bytes of keys and values, estimated on the high side. */
  bytes: number;
}

/** The outcome for one unit: committed at `versionstamp`, or a check failed. */
export type CommitResult = { ok: true; versionstamp: string } | { ok: false };

/** The queue message a commit carries for its wake items. */
export interface QueueMessage {
  value: unknown;
  options?: { delay?: number; keysIfUndelivered?: Deno.KvKey[]; backoffSchedule?: number[] };
}

/** How the batcher folds units and what it does around each commit. */
export interface CommitBatcherOptions {
  /** Builds the one queue message enqueued with a commit's wake items. */
  toQueueMessage?: (wake: unknown[]) => QueueMessage;
  /** Runs after a commit with its wake items (the in-process fast path). */
  onCommitted?: (wake: unknown[]) => void;
  /** Commits in flight at once. */
  maxInFlight?: number;
  /** Units waiting at most; beyond it `commit()` refuses with `OverloadedError` instead of queueing. */
  maxQueued?: number;
  limits?: Partial<CommitLimits>;
}

/**
 * Per-atomic limits, kept below Deno KV's (100 checks, 1000 mutations, 800 KiB,
 * 80 KiB of mutation keys).
 */
export interface CommitLimits {
  /** Units folded into one commit at most; 1 turns group commit off. */
  units: number;
  checks: number;
  mutations: number;
  bytes: number;
  /** Total size of the mutations' keys as KV counts it (`keyBytes`). */
  keyBytes: number;
}

const DEFAULT_LIMITS: CommitLimits = {
  units: Infinity,
  checks: 100,
  mutations: 990,
  bytes: 760 * 1024,
  keyBytes: 78 * 1024,
};

/** Units waiting for a commit at most, by default: about a second of the busiest load measured. */
const DEFAULT_MAX_QUEUED = 4096;

/** Refused because too much work is waiting already; the caller should come back shortly. */
export class OverloadedError extends Error {
  constructor(message = "Too many commits are waiting") {
    super(message);
    this.name = "OverloadedError";
  }
}

interface Pending {
  unit: CommitUnit;
  keyBytes: number;
  resolve: (result: CommitResult) => void;
  reject: (err: unknown) => void;
}

/** Folds concurrently submitted units into shared atomic commits. */
export class CommitBatcher {
  readonly #kv: Deno.Kv;
  readonly #options: CommitBatcherOptions;
  readonly #limits: CommitLimits;
  #queue: Pending[] = [];
  #inFlight = 0;
  #idle: (() => void)[] = [];

  constructor(kv: Deno.Kv, options: CommitBatcherOptions = {}) {
    this.#kv = kv;
    this.#options = options;
    this.#limits = { ...DEFAULT_LIMITS, ...options.limits };
  }

  /**
   * Commits the unit, alone or together with others; resolves once it is
   * durable or refused. Rejects with a `RangeError` when the unit alone exceeds
   * an atomic's limits, and with `OverloadedError` when the queue is full.
   */
  commit(unit: CommitUnit): Promise<CommitResult> {
    const keys = unitKeyBytes(unit);
    if (!fits(unit, keys, this.#limits)) {
      return Promise.reject(new RangeError("Commit unit exceeds Deno KV's atomic limits"));
    }
    if (this.#queue.length >= (this.#options.maxQueued ?? DEFAULT_MAX_QUEUED)) {
      return Promise.reject(new OverloadedError());
    }
    return new Promise((resolve, reject) => {
      this.#queue.push({ unit, keyBytes: keys, resolve, reject });
      this.#pump();
    });
  }

  /** Units waiting for a commit now. */
  get queued(): number {
    return this.#queue.length;
  }

  /** Resolves once nothing is queued or in flight. */
  async drain(): Promise<void> {
    while (this.#queue.length > 0 || this.#inFlight > 0) {
      await new Promise<void>((resolve) => this.#idle.push(resolve));
    }
  }

  #pump(): void {
    const maxInFlight = this.#options.maxInFlight ?? 2;
    while (this.#queue.length > 0 && this.#inFlight < maxInFlight) {
      const group = takeGroup(this.#queue, this.#limits);
      this.#inFlight++;
      this.#commitGroup(group).finally(() => {
        this.#inFlight--;
        this.#pump();
        if (this.#queue.length === 0 && this.#inFlight === 0) {
          for (const resolve of this.#idle.splice(0)) resolve();
        }
      });
    }
  }

  async #commitGroup(group: Pending[]): Promise<void> {
    try {
      const result = await this.#commitOnce(group.map((p) => p.unit));
      if (result.ok || group.length === 1) {
        for (const p of group) p.resolve(result);
        return;
      }
    } catch (err) {
      if (group.length === 1) {
        group[0]!.reject(err);
        return;
      }
    }
    // The shared commit failed on some unit's check (or its size): find out whose, one by one.
    for (const p of group) {
      await this.#commitOnce([p.unit]).then(p.resolve, p.reject);
    }
  }

  async #commitOnce(units: CommitUnit[]): Promise<CommitResult> {
    const op = this.#kv.atomic();
    const wake: unknown[] = [];
    for (const unit of units) {
      op.check(...unit.checks);
      if (unit.wake) wake.push(...unit.wake);
    }
    op.mutate(...foldSums(units.flatMap((unit) => unit.mutations)));
    if (wake.length > 0 && this.#options.toQueueMessage) {
      const message = this.#options.toQueueMessage(wake);
      op.enqueue(message.value, message.options);
    }
    const result = await op.commit();
    if (result.ok && wake.length > 0) this.#options.onCommitted?.(wake);
    return result.ok ? { ok: true, versionstamp: result.versionstamp } : { ok: false };
  }
}

/**
 * Takes, in submission order, the units that fit one atomic together and touch
 * disjoint keys (two units checking one key at one versionstamp would both pass
 * and the later write would silently win). The rest stay queued, in order.
 */
export function takeGroup<T extends { unit: CommitUnit; keyBytes: number }>(
  queue: T[],
  limits: CommitLimits,
): T[] {
  const group: T[] = [];
  const rest: T[] = [];
  const touched = new Set<string>();
  const total = { checks: 0, mutations: 1, bytes: 0, keyBytes: 0 }; // one mutation kept for the enqueue
  for (const pending of queue) {
    const { unit } = pending;
    const ids = exclusiveKeys(unit);
    const fitsTogether = group.length < limits.units && total.checks + unit.checks.length <= limits.checks &&
      total.mutations + unit.mutations.length <= limits.mutations &&
      total.bytes + unit.bytes <= limits.bytes &&
      total.keyBytes + pending.keyBytes <= limits.keyBytes &&
      !ids.some((id) => touched.has(id));
    if (group.length > 0 && !fitsTogether) {
      rest.push(pending);
      continue;
    }
    group.push(pending);
    for (const id of ids) touched.add(id);
    total.checks += unit.checks.length;
    total.mutations += unit.mutations.length;
    total.bytes += unit.bytes;
    total.keyBytes += pending.keyBytes;
  }
  queue.splice(0, queue.length, ...rest);
  return group;
}

function fits(unit: CommitUnit, keys: number, limits: CommitLimits): boolean {
  return unit.checks.length <= limits.checks && unit.mutations.length < limits.mutations &&
    unit.bytes <= limits.bytes && keys <= limits.keyBytes;
}

/**
 * The same mutations with every `sum` on one key folded into a single one (at
 * the place of the first): sums commute and wrap modulo 2^64 alike, so the
 * commit writes the same values with fewer mutations (many units of one
 * commit add to the same counters, such as the outbox backlog).
 */
export function foldSums(mutations: Deno.KvMutation[]): Deno.KvMutation[] {
  const sums = new Map<string, { type: "sum"; key: Deno.KvKey; value: Deno.KvU64 }>();
  const out: Deno.KvMutation[] = [];
  for (const m of mutations) {
    if (m.type !== "sum") {
      out.push(m);
      continue;
    }
    const id = keyId(m.key);
    const seen = sums.get(id);
    if (seen) {
      seen.value = new Deno.KvU64(BigInt.asUintN(64, seen.value.value + m.value.value));
      continue;
    }
    const folded = { type: "sum" as const, key: m.key, value: m.value };
    sums.set(id, folded);
    out.push(folded);
  }
  return out;
}

/** What the unit's mutation keys count against KV's 80 KiB per atomic. */
export function unitKeyBytes(unit: CommitUnit): number {
  return unit.mutations.reduce((n, m) => n + keyBytes(m.key), 0);
}

/** Keys a unit checks or overwrites; `sum`, `min` and `max` commute, so they never clash. */
function exclusiveKeys(unit: CommitUnit): string[] {
  const ids = unit.checks.map((c) => keyId(c.key));
  for (const m of unit.mutations) {
    if (m.type === "set" || m.type === "delete") ids.push(keyId(m.key));
  }
  return ids;
}

/** Tells keys apart (1 and "1" included): the app's keys hold strings, numbers and booleans. */
function keyId(key: Deno.KvKey): string {
  return JSON.stringify(key);
}
