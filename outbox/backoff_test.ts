import assert from "node:assert/strict";
import { DEFAULT_RETRY_POLICY, isExhausted, retryDelay, retrySchedule } from "./backoff.ts";

Deno.test("retryDelay() doubles from baseMs and stops growing at maxMs", () => {
  assert.deepEqual(retrySchedule(DEFAULT_RETRY_POLICY), [2000, 4000, 8000, 16_000, 32_000, 64_000, 120_000]);
});

Deno.test("retryDelay() spreads each delay by ±25 %", () => {
  const policy = { baseMs: 1000, maxMs: 60_000, maxAttempts: 8 };
  assert.equal(retryDelay(1, policy, () => 0), 750);
  assert.equal(retryDelay(1, policy, () => 0.999999), 1250);
  assert.equal(retryDelay(3, policy, () => 0.5), 4000);
  for (let i = 0; i < 100; i++) {
    const d = retryDelay(20, policy);
    assert.ok(d >= 45_000 && d <= 75_000, String(d));
  }
});

Deno.test("the default policy gives up after 8 attempts, a few minutes in", () => {
  assert.equal(isExhausted(7, DEFAULT_RETRY_POLICY), false);
  assert.equal(isExhausted(8, DEFAULT_RETRY_POLICY), true);
  const total = retrySchedule(DEFAULT_RETRY_POLICY).reduce((a, b) => a + b, 0);
  assert.ok(total > 3 * 60_000 && total < 6 * 60_000, String(total));
});
