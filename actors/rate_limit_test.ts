import assert from "node:assert/strict";
import fc from "fast-check";
import { MemoryRateLimiter, RATE_WINDOW_MS, takeRateSlot } from "./rate_limit.ts";

Deno.test("takeRateSlot() allows up to the limit inside one window", () => {
  let log: number[] = [];
  for (let i = 0; i < 10; i++) {
    const decision = takeRateSlot(log, 1000 + i, 10);
    assert.ok(decision.allowed);
    log = decision.log;
  }
  const refused = takeRateSlot(log, 1010, 10);
  assert.deepEqual(refused, { allowed: false, retryAfterSeconds: 60 });
});

Deno.test("takeRateSlot() frees a slot once the oldest request leaves the window", () => {
  const log = Array.from({ length: 10 }, (_, i) => i * 1000);
  assert.equal(takeRateSlot(log, RATE_WINDOW_MS - 1, 10).allowed, false);
  const decision = takeRateSlot(log, RATE_WINDOW_MS, 10);
  assert.ok(decision.allowed);
  assert.equal(decision.log.length, 10);
});

Deno.test("takeRateSlot() counts times stamped by a process whose clock runs ahead", () => {
  // Another process, 20 s ahead, took 10 slots; this one must not take an eleventh.
  const ahead = Array.from({ length: 10 }, (_, i) => 20_000 + i);
  assert.deepEqual(takeRateSlot(ahead, 0, 10), { allowed: false, retryAfterSeconds: 80 });
  const decision = takeRateSlot(ahead.slice(1), 5, 10);
  assert.ok(decision.allowed);
  assert.deepEqual(decision.log, [5, ...ahead.slice(1)]);
});

Deno.test("takeRateSlot() never lets more than `limit` requests into any window, whatever the skew between two processes", () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ gap: fc.integer({ min: 0, max: 5_000 }), second: fc.boolean() }), {
        maxLength: 80,
      }),
      fc.integer({ min: -90_000, max: 90_000 }),
      fc.integer({ min: 1, max: 12 }),
      (steps, skew, limit) => {
        // Both processes share one stored log; the second stamps with a clock `skew` ms off.
        let log: number[] = [];
        let realTime = 0;
        const accepted: number[] = [];
        for (const { gap, second } of steps) {
          realTime += gap;
          const decision = takeRateSlot(log, second ? realTime + skew : realTime, limit);
          if (decision.allowed) {
            log = decision.log;
            accepted.push(realTime);
          } else {
            assert.ok(decision.retryAfterSeconds >= 1);
          }
        }
        // In real time, no window holds more than the limit plus what the skew can shift in.
        const slack = Math.abs(skew);
        for (const t of accepted) {
          const inWindow = accepted.filter((u) => u > t - RATE_WINDOW_MS + slack && u <= t).length;
          assert.ok(inWindow <= limit, `${inWindow} > ${limit} in a window ending at ${t}`);
        }
        // By the stamps themselves, never more than the limit in any window.
        for (const t of log) assert.ok(log.filter((u) => u > t - RATE_WINDOW_MS && u <= t).length <= limit);
      },
    ),
  );
});

Deno.test("MemoryRateLimiter takes slots per user and forgets the least recent users", () => {
  const limiter = new MemoryRateLimiter({ limit: 2, windowMs: 10_000, maxUsers: 2 });
  assert.ok(limiter.take("a", 0).allowed);
  assert.ok(limiter.take("a", 1).allowed);
  assert.deepEqual(limiter.take("a", 2), { allowed: false, retryAfterSeconds: 10 });
  assert.ok(limiter.take("b", 3).allowed);
  assert.ok(limiter.take("c", 4).allowed); // "a" is forgotten
  assert.ok(limiter.take("a", 5).allowed);
});
