/**
 * @module Group commit across rooms: units of work submitted concurrently are
 * folded into one `kv.atomic()` within KV's limits, each keeping its own checks.
 */

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
  limits?: Partial<CommitLimits>;
}

/** Per-atomic limits, kept below Deno KV's (100 checks, 1000 mutations, 800 KiB). */
export interface CommitLimits {
  /** Units folded into one commit at most; 1 turns group commit off. */
  units: number;
  checks: number;
  mutations: number;
  bytes: number;
}

const DEFAULT_LIMITS: CommitLimits = { units: Infinity, checks: 100, mutations: 990, bytes: 760 * 1024 };

interface Pending {
  unit: CommitUnit;
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

  /** Commits the unit, alone or together with others; resolves once it is durable or refused. */
  commit(unit: CommitUnit): Promise<CommitResult> {
    if (!fits(unit, this.#limits)) {
      return Promise.reject(new RangeError("Commit unit exceeds Deno KV's atomic limits"));
    }
    return new Promise((resolve, reject) => {
      this.#queue.push({ unit, resolve, reject });
      this.#pump();
    });
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
      op.mutate(...unit.mutations);
      if (unit.wake) wake.push(...unit.wake);
    }
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
export function takeGroup<T extends { unit: CommitUnit }>(queue: T[], limits: CommitLimits): T[] {
  const group: T[] = [];
  const rest: T[] = [];
  const touched = new Set<string>();
  const total = { checks: 0, mutations: 1, bytes: 0 }; // one slot kept for the enqueue
  for (const pending of queue) {
    const { unit } = pending;
    const ids = exclusiveKeys(unit);
    const fitsTogether = group.length < limits.units && total.checks + unit.checks.length <= limits.checks &&
      total.mutations + unit.mutations.length <= limits.mutations &&
      total.bytes + unit.bytes <= limits.bytes &&
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
  }
  queue.splice(0, queue.length, ...rest);
  return group;
}

/** A high estimate of what a key and its value weigh in a commit, in bytes. */
export function estimateBytes(key: Deno.KvKey, value?: unknown): number {
  return 2 * JSON.stringify(key).length + 16 + (value === undefined ? 0 : valueBytes(value));
}

/**
 * A high estimate of a value's size as KV stores it (V8 serialization):
 * strings beyond Latin-1 take two bytes per code unit; Maps and arrays count
 * every entry.
 */
export function valueBytes(value: unknown): number {
  if (typeof value === "string") return 5 + (/[\u0100-\uffff]/.test(value) ? 2 : 1) * value.length;
  if (typeof value !== "object" || value === null) return 9;
  if (value instanceof Deno.KvU64) return 9;
  if (value instanceof Uint8Array) return 5 + value.byteLength;
  let bytes = 5;
  if (value instanceof Map) {
    for (const [k, v] of value) bytes += valueBytes(k) + valueBytes(v);
  } else if (Array.isArray(value) || value instanceof Set) {
    for (const item of value) bytes += valueBytes(item);
  } else {
    for (const [k, v] of Object.entries(value)) bytes += valueBytes(k) + valueBytes(v);
  }
  return bytes;
}

function fits(unit: CommitUnit, limits: CommitLimits): boolean {
  return unit.checks.length <= limits.checks && unit.mutations.length < limits.mutations &&
    unit.bytes <= limits.bytes;
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
