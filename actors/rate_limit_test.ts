import assert from "node:assert/strict";
import fc from "fast-check";
import { RATE_WINDOW_MS, takeSendSlot } from "./rate_limit.ts";

Deno.test("takeSendSlot() allows up to the limit inside one window", () => {
  let log: number[] = [];
  for (let i = 0; i < 10; i++) {
    const decision = takeSendSlot(log, 1000 + i, 10);
    assert.ok(decision.allowed);
    log = decision.log;
  }
  const refused = takeSendSlot(log, 1010, 10);
  assert.deepEqual(refused, { allowed: false, retryAfterSeconds: 60 });
});

Deno.test("takeSendSlot() frees a slot once the oldest send leaves the window", () => {
  const log = Array.from({ length: 10 }, (_, i) => i * 1000);
  assert.equal(takeSendSlot(log, RATE_WINDOW_MS - 1, 10).allowed, false);
  const decision = takeSendSlot(log, RATE_WINDOW_MS, 10);
  assert.ok(decision.allowed);
  assert.equal(decision.log.length, 10);
});

Deno.test("takeSendSlot() never lets more than `limit` sends into any rolling minute", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: 5_000 }), { maxLength: 80 }),
      fc.integer({ min: 1, max: 12 }),
      (gaps, limit) => {
        let log: number[] = [];
        let now = 0;
        const accepted: number[] = [];
        for (const gap of gaps) {
          now += gap;
          const decision = takeSendSlot(log, now, limit);
          if (decision.allowed) {
            log = decision.log;
            accepted.push(now);
          } else {
            assert.ok(decision.retryAfterSeconds >= 1 && decision.retryAfterSeconds <= 60);
          }
        }
        for (const t of accepted) {
          assert.ok(accepted.filter((u) => u > t - RATE_WINDOW_MS && u <= t).length <= limit);
        }
      },
    ),
  );
});
