import assert from "node:assert/strict";
import { ChatApiError, ChatClosedError, ChatNetworkError } from "./errors.ts";
import { NetworkWatch } from "./network.ts";
import { parseRetryAfter, retryDelay, withRetry } from "./retry.ts";

const POLICY = { baseDelayMs: 10, maxDelayMs: 40, maxAttempts: 3 };

Deno.test("parseRetryAfter() reads delay-seconds and HTTP dates, and nothing else", () => {
  assert.equal(parseRetryAfter("12"), 12_000);
  assert.equal(parseRetryAfter(" 0 "), 0);
  const now = Date.parse("2026-01-01T00:00:00Z");
  assert.equal(parseRetryAfter("Thu, 01 Jan 2026 00:00:30 GMT", now), 30_000);
  assert.equal(parseRetryAfter("Wed, 31 Dec 2025 23:59:00 GMT", now), 0);
  for (const bad of [null, undefined, "", "soon", "-1", "1.5"]) {
    assert.equal(parseRetryAfter(bad), undefined, bad!);
  }
});

Deno.test("retryDelay() doubles the backoff up to maxDelayMs and waits out Retry-After in full", () => {
  assert.equal(retryDelay(POLICY, 1, undefined, () => 1), 10);
  assert.equal(retryDelay(POLICY, 2, undefined, () => 1), 20);
  assert.equal(retryDelay(POLICY, 9, undefined, () => 1), 40);
  assert.equal(retryDelay(POLICY, 1, undefined, () => 0), 5);
  assert.equal(retryDelay(POLICY, 1, 60_000), 60_000);
});

Deno.test("withRetry() retries 5xx and 429 up to maxAttempts, network failures without limit, others never", async () => {
  const network = new NetworkWatch();
  const signal = new AbortController().signal;
  const failing = (errors: Error[]) => {
    const calls = { count: 0 };
    return Object.assign(calls, {
      attempt: () => {
        const error = errors[calls.count++];
        return error ? Promise.reject(error) : Promise.resolve("done");
      },
    });
  };
  const flaky = failing([new ChatApiError(503, "busy", 1), new ChatApiError(429, "slow down", 1)]);
  assert.equal(await withRetry(flaky.attempt, { policy: POLICY, signal, network }), "done");
  assert.equal(flaky.count, 3);

  const down = failing([1, 2, 3].map(() => new ChatApiError(500, "down")));
  await assert.rejects(withRetry(down.attempt, { policy: POLICY, signal, network }), ChatApiError);
  assert.equal(down.count, 3);

  const offline = failing(Array.from({ length: 8 }, () => new ChatNetworkError("offline")));
  assert.equal(await withRetry(offline.attempt, { policy: POLICY, signal, network }), "done");
  assert.equal(offline.count, 9);

  const refused = failing([new ChatApiError(409, "conflict")]);
  await assert.rejects(withRetry(refused.attempt, { policy: POLICY, signal, network }), /conflict/);
  assert.equal(refused.count, 1);
  network.close();
});

Deno.test("withRetry() stops with ChatClosedError when the client closes during a backoff", async () => {
  const network = new NetworkWatch();
  const closing = new AbortController();
  const policy = { ...POLICY, baseDelayMs: 60_000, maxDelayMs: 60_000 };
  const pending = withRetry(() => Promise.reject(new ChatNetworkError("offline")), {
    policy,
    signal: closing.signal,
    network,
  });
  closing.abort();
  await assert.rejects(pending, ChatClosedError);
  network.close();
});
