/**
 * @module When to retry a request and how long to wait first: exponential backoff with
 * jitter, `Retry-After` honoured, and waits that end early when the network comes back.
 */
import { ChatApiError, ChatClosedError, isRetryable } from "./errors.ts";
import type { NetworkWatch } from "./network.ts";
import type { RetryPolicy } from "./types.ts";

/** 0.5 s, 1 s, 2 s … up to 30 s between attempts; ten answered attempts at most. */
export const DEFAULT_RETRY: RetryPolicy = { baseDelayMs: 500, maxDelayMs: 30_000, maxAttempts: 10 };

/**
 * How long to wait before the next attempt after `attempt` failed ones: the server's
 * `Retry-After` in full when it sent one (an earlier attempt would only be refused again), else
 * a random delay between half and all of `baseDelayMs · 2^(attempt-1)`, at most `maxDelayMs`.
 */
export function retryDelay(
  policy: RetryPolicy,
  attempt: number,
  retryAfterMs?: number,
  random: () => number = Math.random,
): number {
  if (retryAfterMs !== undefined) return retryAfterMs;
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling * (0.5 + random() / 2));
}

/**
 * A `Retry-After` header in milliseconds: delay-seconds or an HTTP date; undefined when
 * absent or unreadable.
 */
export function parseRetryAfter(
  value: string | null | undefined,
  now: number = Date.now(),
): number | undefined {
  if (value === null || value === undefined || value.trim() === "") return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  if (!/^[A-Za-z]{3}, /.test(trimmed)) return undefined; // an IMF-fixdate: "Thu, 01 Jan 2026 00:00:30 GMT"
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * A wait that a `wake` event ends early (the network is back) and `signal` ends with a
 * ChatClosedError.
 */
export function sleep(ms: number, signal: AbortSignal, wake?: EventTarget): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new ChatClosedError());
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", aborted);
      wake?.removeEventListener("wake", done);
      resolve();
    };
    const aborted = () => {
      clearTimeout(timer);
      wake?.removeEventListener("wake", done);
      reject(new ChatClosedError());
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", aborted, { once: true });
    wake?.addEventListener("wake", done, { once: true });
  });
}

/** What a retried call needs besides the call itself. */
export interface RetryContext {
  policy: RetryPolicy;
  signal: AbortSignal;
  network: NetworkWatch;
}

/**
 * Runs `attempt` until it succeeds, retrying network failures (indefinitely: the call waits
 * while offline, until the client closes), 5xx and 429 answers (up to `maxAttempts`, after
 * `Retry-After` when given). Other errors are thrown at once.
 *
 * @throws the last error once retrying stops; {ChatClosedError} when the client closes.
 */
export async function withRetry<T>(attempt: () => Promise<T>, context: RetryContext): Promise<T> {
  const { policy, signal, network } = context;
  let failures = 0;
  let answered = 0;
  for (;;) {
    while (network.offline) await sleep(policy.maxDelayMs, signal, network);
    try {
      return await attempt();
    } catch (error) {
      if (signal.aborted) throw new ChatClosedError();
      if (!isRetryable(error)) throw error;
      failures++;
      if (error instanceof ChatApiError) {
        answered++;
        if (answered >= policy.maxAttempts) throw error;
        // The server said when: waking early would only be refused again.
        await sleep(retryDelay(policy, failures, error.retryAfterMs), signal);
      } else {
        await sleep(retryDelay(policy, failures), signal, network);
      }
    }
  }
}
