/** @module The rolling-window send limit, as a pure function over a user's recent send times. */

/** Length of the rolling window. */
export const RATE_WINDOW_MS = 60_000;

/** The outcome of asking for one more send. */
export type RateDecision =
  | { allowed: true; log: number[] }
  | { allowed: false; retryAfterSeconds: number };

/**
 * Decides whether a send at `now` stays within `limit` sends in any rolling
 * minute (or `windowMs`), given the times of earlier sends. On success returns
 * the log to store (only the times still inside the window, plus `now`).
 *
 * @example
 * ```ts
 * takeSendSlot([], 1_000, 10); // { allowed: true, log: [1000] }
 * ```
 */
export function takeSendSlot(
  log: readonly number[],
  now: number,
  limit: number,
  windowMs = RATE_WINDOW_MS,
): RateDecision {
  const recent = log.filter((t) => t > now - windowMs && t <= now);
  if (recent.length < limit) return { allowed: true, log: [...recent, now] };
  // The oldest send inside the window must leave it before a new one fits.
  const oldestThatMustExpire = recent[recent.length - limit]!;
  const waitMs = oldestThatMustExpire + windowMs - now;
  return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) };
}
