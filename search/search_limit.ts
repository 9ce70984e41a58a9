/**
 * @module The per-user search limit: a rolling minute of search times kept in
 * KV and changed under a check, so that every process counts the same searches.
 */
import { takeRateSlot } from "../actors/rate_limit.ts";
import { HttpError } from "../http_error.ts";
import { keys } from "../storage/keys.ts";

/** Searches one user may make in any rolling minute. */
export const SEARCH_LIMIT_PER_MIN = 30;
const WINDOW_MS = 60_000;
const ATTEMPTS = 8;

/**
 * Counts one search of `userId`, or refuses it.
 *
 * @throws {HttpError} 429 with `Retry-After` over the limit; 503 when the user's log stays contended.
 */
export async function takeSearchSlot(
  kv: Deno.Kv,
  userId: string,
  options: { limit?: number; now?: () => number } = {},
): Promise<void> {
  const limit = options.limit ?? SEARCH_LIMIT_PER_MIN;
  const now = options.now ?? Date.now;
  const key = keys.searchLog(userId);
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const entry = await kv.get<number[]>(key);
    const decision = takeRateSlot(entry.value ?? [], now(), limit, WINDOW_MS);
    if (!decision.allowed) {
      throw new HttpError(429, `Too many searches: at most ${limit} per minute`, {
        "Retry-After": String(decision.retryAfterSeconds),
      });
    }
    const committed = await kv.atomic().check(entry).set(key, decision.log, { expireIn: WINDOW_MS * 2 })
      .commit();
    if (committed.ok) return;
  }
  throw new HttpError(503, "Too many concurrent searches, retry the request", { "Retry-After": "1" });
}
