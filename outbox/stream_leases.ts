/**
 * @module Leases on outbox streams: which watcher drains a stream right now.
 * Taken in one commit under checks, renewed while a round runs, released under
 * checks. A lease counts while its owner's heartbeat is fresh, so the streams
 * of a crashed watcher are taken over within seconds, and those of a watcher
 * that only stalled past its lease are not.
 */
import type { CommitBatcher, CommitUnit } from "../storage/commit_batcher.ts";
import { estimateBytes } from "../storage/kv_size.ts";
import { keys } from "../storage/keys.ts";
import { getManyChunked } from "../storage/kv.ts";

/** Who drains a stream, and until when (renewed while the round runs). */
export interface OutboxLease {
  owner: string;
  until: number;
}

/** Whether a stream's lease is ours now, or when to look again. */
export type LeaseAnswer = { ok: true } | { ok: false; retryInMs: number };

/** Shortest wait before looking again at a stream another process holds. */
export const LEASE_POLL_MS = 100;
/** A watcher writes its heartbeat this often; its leases die with it within `HEARTBEAT_TTL_MS`. */
export const HEARTBEAT_MS = 1000;
const HEARTBEAT_TTL_MS = 3500;
/**
 * How long a live owner's lease still holds after it ran out unrenewed: the owner
 * stalled (a busy event loop, a paused VM) rather than died, and taking the stream
 * over would deliver again what it delivered but has not deleted yet.
 */
const STALL_GRACE_MS = 5000;
/** Leases per commit: one check and one write each, far below KV's 100 checks and 80 KiB of keys. */
const LEASES_PER_COMMIT = 64;

/** The leases one watcher holds, by sink and stream. */
export class StreamLeases {
  readonly #kv: Deno.Kv;
  readonly #batcher: CommitBatcher;
  readonly #owner: string;
  readonly #leaseMs: number;
  readonly #now: () => number;
  /** Versionstamps of the lease rows this watcher wrote last, by stream id. */
  readonly #held = new Map<string, string>();
  /** Held leases whose release rides in a caller's commit in flight: not renewed meanwhile. */
  readonly #releasing = new Set<string>();
  /** Held leases a renewal is rewriting right now: not handed out for release meanwhile. */
  readonly #renewing = new Set<string>();

  constructor(
    kv: Deno.Kv,
    batcher: CommitBatcher,
    options: { owner: string; leaseMs: number; now: () => number },
  ) {
    this.#kv = kv;
    this.#batcher = batcher;
    this.#owner = options.owner;
    this.#leaseMs = options.leaseMs;
    this.#now = options.now;
  }

  /** How long a lease lasts without renewal. */
  get leaseMs(): number {
    return this.#leaseMs;
  }

  /**
   * Says "this watcher is alive", so that its leases hold. Never throws. An
   * atomic commit, so that a store opened with `openKv()` retries it while
   * another process holds the write lock (a lapsed beat lets others take over).
   */
  async beat(): Promise<void> {
    const until = this.#now() + HEARTBEAT_TTL_MS;
    await this.#kv.atomic().set(keys.outboxOwner(this.#owner), { until }, { expireIn: HEARTBEAT_TTL_MS * 10 })
      .commit().catch(() => {
        // A failing database: the next beat comes in a second, and a lapse only risks a duplicate.
      });
  }

  /** Removes the heartbeat (a clean stop). */
  async retire(): Promise<void> {
    await this.#kv.delete(keys.outboxOwner(this.#owner)).catch(() => {});
  }

  /**
   * Takes the leases of the streams that no live watcher holds, in commits
   * under checks on the rows read. A stream another watcher holds is answered
   * with when to look again.
   */
  async acquire(sink: string, streams: string[]): Promise<Map<string, LeaseAnswer>> {
    const out = new Map<string, LeaseAnswer>();
    for (let i = 0; i < streams.length; i += LEASES_PER_COMMIT) {
      for (const [stream, answer] of await this.#acquireSome(sink, streams.slice(i, i + LEASES_PER_COMMIT))) {
        out.set(stream, answer);
      }
    }
    return out;
  }

  /**
   * Extends the leases of `streams` (all held by this watcher) by a full lease
   * time. Returns the streams whose lease was lost meanwhile (another watcher
   * took it over): stop delivering those.
   */
  async renew(sink: string, streams: string[]): Promise<string[]> {
    const lost: string[] = [];
    const mine = streams.filter((s) =>
      this.#held.has(leaseId(sink, s)) && !this.#releasing.has(leaseId(sink, s))
    );
    lost.push(...streams.filter((s) => !this.#held.has(leaseId(sink, s))));
    for (const s of mine) this.#renewing.add(leaseId(sink, s));
    try {
      for (let i = 0; i < mine.length; i += LEASES_PER_COMMIT) {
        const part = mine.slice(i, i + LEASES_PER_COMMIT);
        if (await this.#rewrite(sink, part)) continue;
        // One of them was taken over: find out which, one at a time.
        for (const stream of part) {
          if (!(await this.#rewrite(sink, [stream]))) lost.push(stream);
        }
      }
    } finally {
      for (const s of mine) this.#renewing.delete(leaseId(sink, s));
    }
    return lost;
  }

  /**
   * The check and delete that let a held lease go inside a commit of the
   * caller's (the delete of the stream's last delivered rows), so that the
   * release costs no commit of its own. Null when the lease is not held or a
   * renewal is rewriting it. Settle with `settleRelease` once that commit is
   * known: until then the lease is not renewed.
   */
  releaseParts(
    sink: string,
    stream: string,
  ): { checks: Deno.AtomicCheck[]; mutations: Deno.KvMutation[]; bytes: number } | null {
    const id = leaseId(sink, stream);
    const versionstamp = this.#held.get(id);
    if (versionstamp === undefined || this.#renewing.has(id) || this.#releasing.has(id)) return null;
    this.#releasing.add(id);
    const key = keys.outboxLease(sink, stream);
    return {
      checks: [{ key, versionstamp }],
      mutations: [{ type: "delete", key }],
      bytes: estimateBytes(key),
    };
  }

  /** After the commit carrying `releaseParts`: released (it committed), or still held (it did not). */
  settleRelease(sink: string, stream: string, committed: boolean): void {
    const id = leaseId(sink, stream);
    this.#releasing.delete(id);
    if (committed) this.#held.delete(id);
  }

  /** Lets the streams go; a lease another watcher took over meanwhile is left alone. */
  async release(sink: string, streams: string[]): Promise<void> {
    const mine = streams.filter((s) => this.#held.has(leaseId(sink, s)));
    for (let i = 0; i < mine.length; i += LEASES_PER_COMMIT) {
      const part = mine.slice(i, i + LEASES_PER_COMMIT);
      if (await this.#delete(sink, part)) continue;
      for (const stream of part) await this.#delete(sink, [stream]);
    }
    for (const stream of mine) this.#held.delete(leaseId(sink, stream));
  }

  async #acquireSome(sink: string, streams: string[]): Promise<Map<string, LeaseAnswer>> {
    const leaseKeys = streams.map((stream) => keys.outboxLease(sink, stream));
    const entries = await getManyChunked<OutboxLease>(this.#kv, leaseKeys);
    const now = this.#now();
    const grace = Math.max(this.#leaseMs, STALL_GRACE_MS);
    const foreign = [
      ...new Set(
        entries.flatMap((e) =>
          e.value && e.value.owner !== this.#owner && e.value.until > now - grace ? [e.value.owner] : []
        ),
      ),
    ];
    const beats = await getManyChunked<{ until: number }>(
      this.#kv,
      foreign.map((owner) => keys.outboxOwner(owner)),
    );
    const beatOf = new Map(foreign.map((owner, i) => [owner, beats[i]!.value]));
    const out = new Map<string, LeaseAnswer>();
    const free: number[] = [];
    entries.forEach((entry, i) => {
      const lease = entry.value;
      const beat = lease ? beatOf.get(lease.owner) : undefined;
      // Held while its owner beats (within the stall grace), or until it runs out when it has no heartbeat.
      const held = lease !== null && lease.owner !== this.#owner && beat !== undefined &&
        (beat === null ? lease.until > now : beat.until > now);
      if (held) {
        const expires = beat === null ? lease.until : Math.min(Math.max(lease.until, now + 1000), beat.until);
        out.set(streams[i]!, {
          ok: false,
          retryInMs: Math.max(LEASE_POLL_MS, Math.min(1000, expires - now)),
        });
        return;
      }
      free.push(i);
    });
    if (free.length === 0) return out;
    const value: OutboxLease = { owner: this.#owner, until: now + this.#leaseMs };
    const unit: CommitUnit = {
      checks: free.map((i) => entries[i]!),
      mutations: free.map((i) => this.#setLease(leaseKeys[i]!, value)),
      bytes: free.reduce((n, i) => n + estimateBytes(leaseKeys[i]!, value), 0),
    };
    const result = await this.#batcher.commit(unit);
    for (const i of free) {
      if (result.ok) this.#held.set(leaseId(sink, streams[i]!), result.versionstamp);
      // A failed check: another process took one of them meanwhile; all look again shortly.
      out.set(streams[i]!, result.ok ? { ok: true } : { ok: false, retryInMs: LEASE_POLL_MS });
    }
    return out;
  }

  /** Rewrites held leases with a new expiry under checks on the versions this watcher wrote. */
  async #rewrite(sink: string, streams: string[]): Promise<boolean> {
    const value: OutboxLease = { owner: this.#owner, until: this.#now() + this.#leaseMs };
    const leaseKeys = streams.map((stream) => keys.outboxLease(sink, stream));
    const result = await this.#batcher.commit({
      checks: streams.map((s, i) => ({
        key: leaseKeys[i]!,
        versionstamp: this.#held.get(leaseId(sink, s))!,
      })),
      mutations: leaseKeys.map((key) => this.#setLease(key, value)),
      bytes: leaseKeys.reduce((n, key) => n + estimateBytes(key, value), 0),
    });
    for (const stream of streams) {
      if (result.ok) this.#held.set(leaseId(sink, stream), result.versionstamp);
      else if (streams.length === 1) this.#held.delete(leaseId(sink, stream));
    }
    return result.ok;
  }

  async #delete(sink: string, streams: string[]): Promise<boolean> {
    const leaseKeys = streams.map((stream) => keys.outboxLease(sink, stream));
    const result = await this.#batcher.commit({
      checks: streams.map((s, i) => ({
        key: leaseKeys[i]!,
        versionstamp: this.#held.get(leaseId(sink, s))!,
      })),
      mutations: leaseKeys.map((key) => ({ type: "delete", key })),
      bytes: leaseKeys.reduce((n, key) => n + estimateBytes(key), 0),
    });
    return result.ok;
  }

  #setLease(key: Deno.KvKey, value: OutboxLease): Deno.KvMutation {
    return { type: "set", key, value, expireIn: this.#leaseMs * 4 };
  }
}

function leaseId(sink: string, stream: string): string {
  return `${sink}\u0000${stream}`;
}
