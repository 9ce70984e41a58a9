/**
 * @module The optimistic commit loop: read, build a unit under checks on what
 * was read, commit, and on a lost check read again after a jittered backoff.
 */
import { HttpError } from "../http_error.ts";
import type { CommitBatcher, CommitUnit } from "./commit_batcher.ts";

/** Attempts before a commit that keeps losing its checks gives up with 503. */
const MAX_ATTEMPTS = 12;

/** One attempt's plan: the unit to commit (null: nothing to write) and what to return once it is committed. */
export interface Attempt<T> {
  unit: CommitUnit | null;
  result: T;
}

/**
 * A short random pause before attempt `attempt + 1`: up to `2^attempt` ms
 * (times `scaleMs`), at most `capMs`.
 *
 * @example
 * ```ts
 * await backoff(3, { capMs: 100 }); // somewhere in [0, 8) ms
 * ```
 */
export function backoff(attempt: number, options: { capMs?: number; scaleMs?: number } = {}): Promise<void> {
  const ms = Math.min(options.capMs ?? Infinity, (options.scaleMs ?? 1) * 2 ** attempt);
  return new Promise((resolve) => setTimeout(resolve, Math.random() * ms));
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
    await backoff(i, { capMs: 200 });
  }
  throw new HttpError(503, "Too many concurrent changes, retry the request", { "Retry-After": "1" });
}

/** An empty unit to add checks and mutations to. */
export function emptyUnit(): CommitUnit {
  return { checks: [], mutations: [], wake: [], bytes: 0 };
}
