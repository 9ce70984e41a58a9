import assert from "node:assert/strict";
import { KeyedLock } from "./keyed_lock.ts";

const tick = () => new Promise((resolve) => setTimeout(resolve, 1));

Deno.test("KeyedLock.run() runs calls on one key one at a time, in call order", async () => {
  const lock = new KeyedLock();
  const log: string[] = [];
  const job = (name: string) =>
    lock.run(["bob"], async () => {
      log.push(`${name}:start`);
      await tick();
      log.push(`${name}:end`);
    });
  await Promise.all([job("a"), job("b"), job("c")]);
  assert.deepEqual(log, ["a:start", "a:end", "b:start", "b:end", "c:start", "c:end"]);
  assert.equal(lock.size, 0, "nothing is held afterwards");
});

Deno.test("KeyedLock.run() lets calls on different keys overlap", async () => {
  const lock = new KeyedLock();
  let inside = 0;
  let most = 0;
  const job = (key: string) =>
    lock.run([key], async () => {
      most = Math.max(most, ++inside);
      await tick();
      inside--;
    });
  await Promise.all([job("a"), job("b"), job("c")]);
  assert.equal(most, 3);
});

Deno.test("KeyedLock.run() never deadlocks on overlapping key sets and releases after a throw", async () => {
  const lock = new KeyedLock();
  const done: string[] = [];
  await Promise.all([
    lock.run(["a", "b"], async () => {
      await tick();
      done.push("ab");
    }),
    lock.run(["b", "a"], async () => {
      await tick();
      done.push("ba");
    }),
    lock.run(["a"], () => Promise.reject(new Error("boom"))).catch(() => done.push("threw")),
  ]);
  assert.deepEqual(done.sort(), ["ab", "ba", "threw"]);
  assert.equal(await lock.run(["a", "b"], () => Promise.resolve(1)), 1);
  assert.equal(lock.size, 0);
});
