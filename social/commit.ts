/**
 * @module What the social use cases work with, and their one commit loop:
 * read → build a unit under checks → commit through the batcher → retry.
 */
import { HttpError } from "../http_error.ts";
import type { CommitBatcher, CommitUnit } from "../storage/commit_batcher.ts";
import type { UserStore } from "../storage/users.ts";

/** What committing notifications needs: the KV store, the batcher (outbox wake-ups) and whether push is on. */
export interface NotifyDeps {
  kv: Deno.Kv;
  /** The process's batcher: its commits enqueue and nudge the outbox wake-ups. */
  batcher: CommitBatcher;
  /** Whether OneSignal is configured, so that notifications get push outbox rows. */
  push: boolean;
}

/** What the social use cases need. */
export interface SocialDeps extends NotifyDeps {
  users: UserStore;
}

/** Attempts before a commit that keeps losing its checks gives up with 503. */
const MAX_ATTEMPTS = 12;

/** One attempt's plan: the unit to commit (null: nothing to write) and what to return once it is committed. */
export interface Attempt<T> {
  unit: CommitUnit | null;
  result: T;
}

/**
 * Runs `attempt` (reads, then a unit whose checks cover every read it depends
 * on) and commits its unit; when a check fails, reads again and retries with
 * jittered backoff.
 *
 * @throws {HttpError} whatever `attempt` throws, or 503 when the records stay contended.
 */
export async function commitRetrying<T>(
  batcher: CommitBatcher,
  attempt: () => Promise<Attempt<T>>,
): Promise<T> {
  for (let i = 0; i < MAX_ATTEMPTS; i++) {
    const { unit, result } = await attempt();
    if (unit === null || (await batcher.commit(unit)).ok) return result;
    await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(200, 2 ** i)));
  }
  throw new HttpError(503, "Too many concurrent changes, retry the request", { "Retry-After": "1" });
}

/** An empty unit to add checks and mutations to. */
export function emptyUnit(): CommitUnit {
  return { checks: [], mutations: [], wake: [], bytes: 0 };
}

/** Adds 1 or subtracts 1 from a `Deno.KvU64` counter (`sum` wraps modulo 2^64). */
export function counterDelta(delta: number): Deno.KvU64 {
  return new Deno.KvU64(BigInt.asUintN(64, BigInt(delta)));
}

/** A `Deno.KvU64` counter's value, 0 when it was never written. */
export function counterValue(entry: Deno.KvEntryMaybe<unknown>): number {
  return entry.value instanceof Deno.KvU64 ? Number(entry.value.value) : 0;
}
