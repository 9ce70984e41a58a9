import assert from "node:assert/strict";
import { isRemoteKv, openKv, retryingCommits, retryTransient } from "./kv.ts";

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

/**
 * The real store, except that its next `failures` commits throw what SQLite
 * reports while another process holds the file's write lock.
 */
function lockedFor(kv: Deno.Kv, failures: number): Deno.Kv {
  return new Proxy(kv, {
    get(target, name) {
      if (name !== "atomic") {
        const value = Reflect.get(target, name);
        return typeof value === "function" ? value.bind(target) : value;
      }
      return () => {
        const op = target.atomic();
        const commit = op.commit.bind(op);
        op.commit = () => failures-- > 0 ? Promise.reject(new TypeError("database is locked")) : commit();
        return op;
      };
    },
  });
}

Deno.test("retryingCommits() commits through another process's write lock, once", async () => {
  using kv = await Deno.openKv(":memory:");
  const store = retryingCommits(lockedFor(kv, 2));
  const result = await store.atomic().check({ key: ["k"], versionstamp: null }).set(["k"], 1).commit();
  assert.equal(result.ok, true);
  assert.equal((await store.get(["k"])).value, 1);
  assert.equal(
    (await store.atomic().check({ key: ["k"], versionstamp: null }).set(["k"], 2).commit()).ok,
    false,
  );
});

Deno.test("openKv() creates the folder of a file store and opens it", async () => {
  const dir = await Deno.makeTempDir();
  const kv = await openKv(`${dir}/nested/chat.kv`);
  try {
    assert.equal((await kv.atomic().set(["a"], 1).commit()).ok, true);
    assert.equal((await kv.get(["a"])).value, 1);
  } finally {
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("isRemoteKv() tells a store across a network from a local file", () => {
  assert.equal(isRemoteKv(undefined), true); // Deno Deploy's default KV
  assert.equal(isRemoteKv("https://kv.example.com/db"), true);
  assert.equal(isRemoteKv("http://127.0.0.1:4512"), true);
  assert.equal(isRemoteKv("./data/chat.kv"), false);
  assert.equal(isRemoteKv(":memory:"), false);
});
