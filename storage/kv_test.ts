import assert from "node:assert/strict";
import { retryTransient } from "./kv.ts";

Deno.test("retryTransient() retries while another process holds the write lock, then succeeds", async () => {
  let calls = 0;
  const result = await retryTransient(() => {
    calls++;
    if (calls < 3) return Promise.reject(new TypeError("database is locked"));
    return Promise.resolve("done");
  });
  assert.equal(result, "done");
  assert.equal(calls, 3);
});

Deno.test("retryTransient() rethrows other errors at once", async () => {
  let calls = 0;
  await assert.rejects(
    retryTransient(() => {
      calls++;
      return Promise.reject(new RangeError("Value too large"));
    }),
    RangeError,
  );
  assert.equal(calls, 1);
});

Deno.test("retryTransient() gives up after its retries", async () => {
  let calls = 0;
  await assert.rejects(
    retryTransient(() => {
      calls++;
      return Promise.reject(new TypeError("database is locked"));
    }, 3),
    /database is locked/,
  );
  assert.equal(calls, 4);
});
