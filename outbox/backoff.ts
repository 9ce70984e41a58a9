/** @module When a failed outbox batch is tried again: exponential backoff with jitter. Pure. */

/** How retries are spaced and when they stop. */
export interface RetryPolicy {
  /** Delay after the first failure, before jitter. */
  baseMs: number;
  /** Longest delay between two attempts. */
  maxMs: number;
  /** Attempts in all; a batch that fails this many times is dead. */
  maxAttempts: number;
}

/** 8 attempts over about four minutes: 2, 4, 8, 16, 32, 64, 120 s (each ±25 %). */
export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  baseMs: 2000,
  maxMs: 120_000,
  maxAttempts: 8,
});

/**
 * The delay before the next attempt of a batch that has failed `attempts`
 * times (1 or more): `baseMs · 2^(attempts-1)`, capped at `maxMs`, then spread
 * by ±25 % so that streams that failed together do not retry together.
 *
 * @example
 * ```ts
 * retryDelay(3, DEFAULT_RETRY_POLICY, () => 0.5); // 8000
 * ```
 */
export function retryDelay(
  attempts: number,
  policy: RetryPolicy,
  random: () => number = Math.random,
): number {
  const exponent = Math.min(Math.max(attempts, 1) - 1, 30);
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** exponent);
  return Math.max(0, Math.round(ceiling * (0.75 + random() * 0.5)));
}

/** Whether a batch that has failed `attempts` times has no attempt left. */
export function isExhausted(attempts: number, policy: RetryPolicy): boolean {
  return attempts >= policy.maxAttempts;
}

/** The delays a batch goes through before it is dead, without jitter (for docs and tests). */
export function retrySchedule(policy: RetryPolicy): number[] {
  return Array.from({ length: policy.maxAttempts - 1 }, (_, i) => retryDelay(i + 1, policy, () => 0.5));
}
