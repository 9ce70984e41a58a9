import assert from "node:assert/strict";
import {
  CommitBatcher,
  type CommitUnit,
  foldSums,
  OverloadedError,
  takeGroup,
  unitKeyBytes,
} from "./commit_batcher.ts";

function setUnit(key: Deno.KvKey, value: unknown, versionstamp: string | null = null): CommitUnit {
  return { checks: [{ key, versionstamp }], mutations: [{ type: "set", key, value }], bytes: 100 };
}

Deno.test("CommitBatcher.commit() folds concurrent units into shared commits", async () => {
  using kv = await Deno.openKv(":memory:");
  const batcher = new CommitBatcher(kv, { maxInFlight: 1 });
  const results = await Promise.all(
    Array.from({ length: 50 }, (_, i) => batcher.commit(setUnit(["k", i], i))),
  );
  assert.ok(results.every((r) => r.ok));
  const stamps = new Set(results.map((r) => r.ok && r.versionstamp));
  assert.ok(stamps.size < 50, `expected shared commits, got ${stamps.size} for 50 units`);
  for (let i = 0; i < 50; i++) assert.equal((await kv.get(["k", i])).value, i);
});

Deno.test("CommitBatcher.commit() fails only the unit whose check fails", async () => {
  using kv = await Deno.openKv(":memory:");
  await kv.set(["taken"], "x");
  const batcher = new CommitBatcher(kv, { maxInFlight: 1 });
  const [a, b, c] = await Promise.all([
    batcher.commit(setUnit(["a"], 1)),
    batcher.commit(setUnit(["taken"], 2)), // expects the key absent
    batcher.commit(setUnit(["c"], 3)),
  ]);
  assert.ok(a.ok && c.ok);
  assert.equal(b.ok, false);
  assert.equal((await kv.get(["taken"])).value, "x");
  assert.equal((await kv.get(["c"])).value, 3);
});

Deno.test("CommitBatcher.commit() never folds two units that check the same key", async () => {
  using kv = await Deno.openKv(":memory:");
  const batcher = new CommitBatcher(kv, { maxInFlight: 1 });
  // Both read the key as absent; only one may win, or the other's write would be lost.
  const results = await Promise.all([
    batcher.commit(setUnit(["same"], 1)),
    batcher.commit(setUnit(["same"], 2)),
  ]);
  assert.deepEqual(results.map((r) => r.ok).sort(), [false, true]);
});

Deno.test("CommitBatcher.commit() adds sums from many units together", async () => {
  using kv = await Deno.openKv(":memory:");
  const batcher = new CommitBatcher(kv);
  const unit = (i: number): CommitUnit => ({
    checks: [],
    mutations: [{ type: "sum", key: ["total"], value: new Deno.KvU64(1n) }, {
      type: "set",
      key: ["i", i],
      value: i,
    }],
    bytes: 10,
  });
  await Promise.all(Array.from({ length: 30 }, (_, i) => batcher.commit(unit(i))));
  assert.equal((await kv.get<Deno.KvU64>(["total"])).value?.value, 30n);
});

Deno.test("CommitBatcher.commit() enqueues one message per commit carrying every unit's wake items", async () => {
  using kv = await Deno.openKv(":memory:");
  const messages: unknown[][] = [];
  const committed: unknown[][] = [];
  const batcher = new CommitBatcher(kv, {
    maxInFlight: 1,
    toQueueMessage: (wake) => {
      messages.push(wake);
      return { value: { wake }, options: { delay: 60_000 } };
    },
    onCommitted: (wake) => committed.push(wake),
  });
  await Promise.all([1, 2, 3].map((i) => batcher.commit({ ...setUnit(["w", i], i), wake: [`s${i}`] })));
  assert.deepEqual(messages.flat().sort(), ["s1", "s2", "s3"]);
  assert.deepEqual(committed.flat().sort(), ["s1", "s2", "s3"]);
  assert.ok(messages.length < 3 || messages.every((m) => m.length === 1));
});

Deno.test("CommitBatcher.commit() refuses a unit larger than one atomic allows", async () => {
  using kv = await Deno.openKv(":memory:");
  const batcher = new CommitBatcher(kv);
  await assert.rejects(batcher.commit({ checks: [], mutations: [], bytes: 10 * 1024 * 1024 }), RangeError);
});

Deno.test("takeGroup() keeps order, respects limits and leaves clashing units queued", () => {
  const unit = (key: string, mutations = 1): { unit: CommitUnit; keyBytes: number } => ({
    unit: {
      checks: [{ key: [key], versionstamp: null }],
      mutations: Array.from({ length: mutations }, () => ({ type: "set" as const, key: [key], value: 1 })),
      bytes: 1,
    },
    keyBytes: 3 * mutations,
  });
  const queue = [unit("a"), unit("b"), unit("a"), unit("c", 5), unit("d")];
  const group = takeGroup(queue, { units: 10, checks: 100, mutations: 6, bytes: 1000, keyBytes: 1000 });
  assert.deepEqual(group.map((g) => g.unit.checks[0]!.key[0]), ["a", "b", "d"]);
  assert.deepEqual(queue.map((g) => g.unit.checks[0]!.key[0]), ["a", "c"]);
});

Deno.test("takeGroup() takes one unit at a time when group commit is off", () => {
  const queue = [1, 2, 3].map((i) => ({
    unit: { checks: [], mutations: [{ type: "set" as const, key: ["k", i], value: i }], bytes: 1 },
    keyBytes: 12,
  }));
  assert.equal(
    takeGroup(queue, { units: 1, checks: 100, mutations: 990, bytes: 1000, keyBytes: 1000 }).length,
    1,
  );
  assert.equal(queue.length, 2);
});

Deno.test("CommitBatcher.commit() never folds units whose keys together pass KV's 80 KiB", async () => {
  using kv = await Deno.openKv(":memory:");
  const batcher = new CommitBatcher(kv, { maxInFlight: 1 });
  // Each unit writes 30 keys of about 1 KiB: fine alone, three of them would be refused by KV.
  const unit = (u: number): CommitUnit => ({
    checks: [],
    mutations: Array.from(
      { length: 30 },
      (_, i) => ({ type: "set" as const, key: ["k", "x".repeat(1000), u, i], value: u }),
    ),
    bytes: 30 * 1100,
  });
  assert.ok(unitKeyBytes(unit(0)) > 30 * 1000);
  const results = await Promise.all(Array.from({ length: 8 }, (_, u) => batcher.commit(unit(u))));
  assert.ok(results.every((r) => r.ok));
  const stamps = new Set(results.map((r) => r.ok && r.versionstamp));
  assert.ok(stamps.size < 8, "units that fit together still share commits");
});

Deno.test("CommitBatcher.commit() refuses one unit whose keys alone pass KV's 80 KiB, before trying it", async () => {
  using kv = await Deno.openKv(":memory:");
  const batcher = new CommitBatcher(kv);
  const mutations = Array.from(
    { length: 90 },
    (_, i) => ({ type: "set" as const, key: ["k", "x".repeat(1000), i], value: 1 }),
  );
  await assert.rejects(batcher.commit({ checks: [], mutations, bytes: 100 }), RangeError);
});

Deno.test("CommitBatcher.commit() refuses with OverloadedError once its queue is full", async () => {
  using kv = await Deno.openKv(":memory:");
  const batcher = new CommitBatcher(kv, { maxInFlight: 1, maxQueued: 5 });
  const outcomes = await Promise.allSettled(
    Array.from({ length: 20 }, (_, i) => batcher.commit(setUnit(["q", i], i))),
  );
  const refused = outcomes.filter((o) => o.status === "rejected");
  assert.ok(refused.length >= 10, `${refused.length} refused`);
  assert.ok(refused.every((o) => o.status === "rejected" && o.reason instanceof OverloadedError));
  assert.ok(
    outcomes.filter((o) => o.status === "fulfilled").every((o) => o.status === "fulfilled" && o.value.ok),
  );
  await batcher.drain();
  assert.equal(batcher.queued, 0);
});

Deno.test("foldSums() adds the sums on one key into one mutation, wrapping like KV, and keeps everything else in order", async () => {
  const u = (n: bigint) => new Deno.KvU64(n);
  const minusOne = u(2n ** 64n - 1n);
  const folded = foldSums([
    { type: "sum", key: ["c"], value: u(2n) },
    { type: "set", key: ["x"], value: 1 },
    { type: "sum", key: ["d", 1], value: u(5n) },
    { type: "sum", key: ["c"], value: minusOne },
    { type: "sum", key: ["c"], value: u(3n) },
  ]);
  assert.deepEqual(folded.map((m) => [m.type, m.key]), [["sum", ["c"]], ["set", ["x"]], ["sum", ["d", 1]]]);
  assert.equal((folded[0] as { value: Deno.KvU64 }).value.value, 4n);
  // And KV agrees: folded or not, the stored counters are the same.
  using kv = await Deno.openKv(":memory:");
  const mutations: Deno.KvMutation[] = [
    { type: "sum", key: ["c"], value: u(7n) },
    { type: "sum", key: ["c"], value: minusOne },
    { type: "sum", key: ["c"], value: minusOne },
  ];
  await kv.atomic().mutate(...mutations).commit();
  await kv.atomic().mutate(...foldSums(mutations)).commit();
  assert.equal((await kv.get<Deno.KvU64>(["c"])).value?.value, 10n);
});
