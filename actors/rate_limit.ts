/**
 * @module Rolling-window rate limits as pure functions over a user's recent
 * request times: sends, other writes, typing. Exact under clock skew between
 * processes: a time stamped by a process whose clock runs ahead still counts.
 */

/** Length of the rolling window. */
export const RATE_WINDOW_MS = 60_000;

/** Which limit a command counts against: sends, or the other writes (`RATE_LIMIT_WRITE_PER_MIN`). */
export type RateKind = "send" | "write";

/** The outcome of asking for one more request. */
export type RateDecision =
  | { allowed: true; log: number[] }
  | { allowed: false; retryAfterSeconds: number };

/**
 * Decides whether a request at `now` stays within `limit` requests per rolling
 * window, given the times of earlier ones (any order, any process's clock). On
 * success returns the log to store: the times still inside the window, `now`
 * among them, ascending. Times after `now` (another process's clock runs ahead)
 * are kept and count: dropping them would let a lagging process exceed the limit.
 *
 * @example
 * ```ts
 * takeRateSlot([], 1_000, 10); // { allowed: true, log: [1000] }
 * ```
 */
export function takeRateSlot(
  log: readonly number[],
  now: number,
  limit: number,
  windowMs: number = RATE_WINDOW_MS,
): RateDecision {
  const recent = log.filter((t) => t > now - windowMs).sort((a, b) => a - b);
  if (recent.length < limit) {
    const at = recent.findIndex((t) => t > now);
    recent.splice(at < 0 ? recent.length : at, 0, now);
    return { allowed: true, log: recent };
  }
  // The oldest request that must leave the window before one more fits.
  const oldestThatMustExpire = recent[recent.length - limit]!;
  const waitMs = oldestThatMustExpire + windowMs - now;
  return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) };
}

/**
 * A per-process limit for requests that are never stored (typing indicators):
 * at most `limit` per user per window, remembered for the most recent users only.
 */
export class MemoryRateLimiter {
  readonly #logs = new Map<string, number[]>();
  readonly #limit: number;
  readonly #windowMs: number;
  readonly #maxUsers: number;

  constructor(options: { limit: number; windowMs?: number; maxUsers?: number }) {
    this.#limit = options.limit;
    this.#windowMs = options.windowMs ?? RATE_WINDOW_MS;
    this.#maxUsers = options.maxUsers ?? 10_000;
  }

  /** Takes a slot for `userId` at `now`, or says how long to wait. */
  take(userId: string, now: number): RateDecision {
    const decision = takeRateSlot(this.#logs.get(userId) ?? [], now, this.#limit, this.#windowMs);
    if (decision.allowed) {
      this.#logs.delete(userId); // re-inserted last: the map's order is least recently used first
      this.#logs.set(userId, decision.log);
      for (const id of this.#logs.keys()) {
        if (this.#logs.size <= this.#maxUsers) break;
        this.#logs.delete(id);
      }
    }
    return decision;
  }
}
