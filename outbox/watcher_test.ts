import assert from "node:assert/strict";
import FakeTimers from "@sinonjs/fake-timers";
import { CommitBatcher } from "../storage/commit_batcher.ts";
import { keys } from "../storage/keys.ts";
import { OutboxMetrics } from "./metrics.ts";
import { listDead, outboxCounts, outboxStats, purgeDead, replayDead } from "./operations.ts";
import {
  type DeadBatch,
  type OutboxBatch,
  outboxBatchWrite,
  type RealtimeEvent,
  roomStream,
} from "./outbox.ts";
import { type OutboxSink, PermanentDeliveryError } from "./sink.ts";
import { OutboxWatcher, type WatcherOptions } from "./watcher.ts";
import { wakeQueueMessage } from "./wake.ts";

/** A sink that records what it got, and fails while `failing` says so. */
class RecordingSink implements OutboxSink {
  delivered: { stream: string; order: number }[] = [];
  calls = 0;
  failing: ((batch: OutboxBatch) => Error | null) | null = null;

  deliver(batches: OutboxBatch[]) {
    this.calls++;
    for (const [i, batch] of batches.entries()) {
      const error = this.failing?.(batch);
      if (error) return Promise.resolve({ delivered: i, error });
      this.delivered.push({ stream: batch.stream, order: batch.order });
    }
    return Promise.resolve({ delivered: batches.length });
  }

  orders(stream: string): number[] {
    return this.delivered.filter((d) => d.stream === stream).map((d) => d.order);
  }
}

const event = (n: number): RealtimeEvent => ({ type: "room.created", roomId: `r${n}`, memberIds: [] });

async function harness(options: Partial<WatcherOptions> & { nudge?: boolean; queue?: boolean } = {}) {
  const kv = await Deno.openKv(":memory:");
  const sink = new RecordingSink();
  const metrics = new OutboxMetrics();
  const nudge = { to: (_wake: unknown[]) => {} };
  const batcher = new CommitBatcher(kv, {
    ...(options.queue ? { toQueueMessage: (wake) => wakeQueueMessage(wake) } : {}),
    onCommitted: (wake) => nudge.to(wake),
  });
  const watcher = new OutboxWatcher(kv, {
    sinks: { realtime: sink },
    batcher,
    metrics,
    retry: { baseMs: 20, maxMs: 40, maxAttempts: 3 },
    sweepIntervalMs: 60_000,
    ...options,
  });
  if (options.nudge !== false) nudge.to = (wake) => watcher.nudge(wake);
  /** Commits one batch on a room stream, as a room commit would. */
  const write = async (roomId: string, order: number) => {
    const out = outboxBatchWrite("realtime", { stream: roomStream(roomId), order, now: Date.now() }, [
      event(order),
    ]);
    await batcher.commit({ checks: [], mutations: out.mutations, wake: out.wake, bytes: out.bytes });
  };
  return {
    kv,
    sink,
    metrics,
    watcher,
    batcher,
    write,
    async [Symbol.asyncDispose]() {
      await watcher.stop();
      await batcher.drain();
      kv.close();
      await watcher.listening;
    },
  };
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function pendingRows(kv: Deno.Kv): Promise<Deno.KvEntry<OutboxBatch>[]> {
  return await Array.fromAsync(kv.list<OutboxBatch>({ prefix: ["outbox"] }));
}

Deno.test("OutboxWatcher delivers each stream in order after the commit and deletes the rows", async () => {
  await using t = await harness();
  t.watcher.start();
  await Promise.all(Array.from({ length: 30 }, (_, i) => t.write(`room${i % 3}`, Math.floor(i / 3) + 1)));
  await until(() => t.sink.delivered.length === 30);
  await t.watcher.settled();
  for (const room of ["room0", "room1", "room2"]) {
    assert.deepEqual(t.sink.orders(roomStream(room)), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  }
  assert.equal((await pendingRows(t.kv)).length, 0);
  assert.equal((await t.kv.get(keys.outboxLease("realtime", roomStream("room0")))).value, null);
  assert.equal(t.metrics.counter('outbox_deliveries_total{sink="realtime"}'), 30);
});

Deno.test("OutboxWatcher wakes from the queue alone when nothing nudges it", async () => {
  await using t = await harness({ nudge: false, queue: true });
  t.watcher.start();
  await t.watcher.settled();
  await t.write("a", 1);
  await t.write("a", 2);
  await until(() => t.sink.delivered.length === 2);
  assert.deepEqual(t.sink.orders(roomStream("a")), [1, 2]);
});

Deno.test("OutboxWatcher sweeps at start what an earlier process left behind", async () => {
  await using t = await harness({ nudge: false });
  for (let order = 1; order <= 3; order++) await t.write("left", order);
  await t.write("other", 1);
  assert.equal(t.sink.calls, 0);
  t.watcher.start();
  await until(() => t.sink.delivered.length === 4);
  assert.deepEqual(t.sink.orders(roomStream("left")), [1, 2, 3]);
});

Deno.test("OutboxWatcher keeps order behind a failed batch and retries it with backoff", async () => {
  await using t = await harness();
  let failures = 0;
  t.sink.failing = (batch) =>
    batch.order === 2 && failures++ < 2 ? new Error("HTTP 500 from the sink") : null;
  t.watcher.start();
  for (let order = 1; order <= 4; order++) await t.write("r", order);
  await until(() => t.sink.delivered.length === 4);
  assert.deepEqual(t.sink.orders(roomStream("r")), [1, 2, 3, 4]);
  assert.equal(failures, 3); // two failures, then the call that passed
  assert.equal(t.metrics.counter('outbox_failures_total{sink="realtime"}'), 2);
  await t.watcher.settled();
  assert.equal((await pendingRows(t.kv)).length, 0);
});

Deno.test("OutboxWatcher records attempts, lastError and nextAttemptAt on a failing row", async () => {
  await using t = await harness({ retry: { baseMs: 60_000, maxMs: 60_000, maxAttempts: 3 } });
  t.sink.failing = () => new Error("sink down");
  t.watcher.start();
  await t.write("r", 1);
  await t.write("r", 2);
  await until(async () => (await pendingRows(t.kv)).some((r) => r.value.attempts === 1));
  await t.watcher.settled();
  const [first, second] = await pendingRows(t.kv);
  assert.equal(first!.value.attempts, 1);
  assert.equal(first!.value.lastError, "sink down");
  assert.ok(first!.value.nextAttemptAt! > Date.now() + 30_000);
  assert.equal(second!.value.attempts, 0, "a later batch is not tried before the earlier one");
  const stats = await outboxStats(t.kv);
  assert.deepEqual([stats.pending, stats.retrying, stats.dead], [1, 1, 0]);
});

Deno.test("OutboxWatcher moves a batch to the dead letters after its last attempt and goes on", async () => {
  await using t = await harness();
  t.sink.failing = (batch) => batch.order === 1 ? new Error("always broken") : null;
  t.watcher.start();
  await t.write("r", 1);
  await t.write("r", 2);
  await until(() => t.sink.delivered.length === 1);
  assert.deepEqual(t.sink.orders(roomStream("r")), [2]);
  const dead = await listDead(t.kv);
  assert.equal(dead.length, 1);
  assert.equal(dead[0]!.id, "realtime:room:r:1");
  assert.equal(dead[0]!.attempts, 3);
  assert.equal(dead[0]!.lastError, "always broken");
  assert.equal(t.metrics.counter('outbox_dead_letters_total{sink="realtime"}'), 1);

  t.sink.failing = null;
  assert.equal(await replayDead(t.kv, { id: "realtime:room:r:1" }), 1);
  await t.watcher.sweep(); // another process replayed it: this one finds it by sweeping
  await until(() => t.sink.delivered.length === 2);
  assert.deepEqual(t.sink.orders(roomStream("r")), [2, 1]);
  assert.equal((await listDead(t.kv)).length, 0);
});

Deno.test("OutboxWatcher sends a batch that can never pass to the dead letters at once", async () => {
  await using t = await harness();
  t.sink.failing = (batch) => batch.order === 1 ? new PermanentDeliveryError("HTTP 400") : null;
  t.watcher.start();
  await t.write("r", 1);
  await t.write("r", 2);
  await until(() => t.sink.delivered.length === 1);
  const dead = await t.kv.get<DeadBatch>(keys.outboxDead("realtime", roomStream("r"), 1));
  assert.equal(dead.value?.attempts, 1);
  assert.equal(t.sink.calls >= 2, true);
});

Deno.test("OutboxWatcher leaves a stream alone while another process holds its lease", async () => {
  const clock = FakeTimers.install({
    toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "Date"],
  });
  try {
    await using t = await harness({ leaseMs: 400 });
    const lease = keys.outboxLease("realtime", roomStream("r"));
    const start = Date.now();
    await t.kv.set(lease, { owner: "another-process", until: start + 300 });
    await t.kv.set(keys.outboxOwner("another-process"), { until: start + 2000 });
    t.watcher.start();
    await t.write("r", 1);
    for (let i = 0; i < 3; i++) { // 150 ms of the other process's 300
      await clock.tickAsync(50);
      await realSleep(3);
    }
    assert.equal(t.sink.delivered.length, 0);
    // The lease runs out at 300 ms but its owner beats until 2 s: only then is the stream taken over.
    for (let i = 0; i < 100 && t.sink.delivered.length === 0; i++) {
      await clock.tickAsync(50);
      await realSleep(3);
    }
    assert.deepEqual(t.sink.orders(roomStream("r")), [1]);
    assert.ok(
      Date.now() - start >= 2000,
      `taken over after ${Date.now() - start} ms, before the owner stopped beating`,
    );
  } finally {
    clock.uninstall();
  }
});

Deno.test("OutboxWatcher delivers a backlog larger than one page, in order", async () => {
  await using t = await harness({ nudge: false, pageSize: 7 });
  for (let order = 1; order <= 40; order++) await t.write("big", order);
  t.watcher.start();
  await until(() => t.sink.delivered.length === 40);
  assert.deepEqual(t.sink.orders(roomStream("big")), Array.from({ length: 40 }, (_, i) => i + 1));
});

Deno.test("wakeQueueMessage() parks undelivered wakes and asks for a sweep when too big", () => {
  const small = wakeQueueMessage([{ sink: "realtime", stream: "room:a" }, {
    sink: "realtime",
    stream: "room:a",
  }], {
    delayMs: 500,
  });
  assert.deepEqual(small.value, { kind: "outbox.wake", wake: [{ sink: "realtime", stream: "room:a" }] });
  assert.equal(small.options?.delay, 500);
  assert.equal(small.options?.keysIfUndelivered?.[0]?.[0], "outbox_lost_wake");
  const many = Array.from(
    { length: 2000 },
    (_, i) => ({ sink: "realtime", stream: `room:${"x".repeat(20)}${i}` }),
  );
  assert.deepEqual(wakeQueueMessage(many).value, { kind: "outbox.wake", wake: [], sweep: true });
});

Deno.test("OutboxWatcher takes over at once a lease whose owner stopped beating (crashed)", async () => {
  await using t = await harness();
  const lease = keys.outboxLease("realtime", roomStream("r"));
  await t.kv.set(lease, { owner: "crashed", until: Date.now() + 60_000 });
  await t.kv.set(keys.outboxOwner("crashed"), { until: Date.now() - 1 });
  t.watcher.start();
  await t.write("r", 1);
  await until(() => t.sink.delivered.length === 1, 1000);
});

Deno.test("OutboxWatcher respects a lease whose owner still beats", async () => {
  await using t = await harness();
  const lease = keys.outboxLease("realtime", roomStream("r"));
  await t.kv.set(lease, { owner: "alive", until: Date.now() + 60_000 });
  await t.kv.set(keys.outboxOwner("alive"), { until: Date.now() + 60_000 });
  t.watcher.start();
  await t.write("r", 1);
  // Time passes (on the fake clock) while the owner beats: the stream stays with it.
  await aFakeSecondPasses();
  assert.equal(t.sink.delivered.length, 0);
});

Deno.test("OutboxWatcher leaves a stream to a stalled owner whose lease ran out while it still beats", async () => {
  await using t = await harness();
  const lease = keys.outboxLease("realtime", roomStream("r"));
  // The owner's event loop stalled past its lease (no renewal) but the process is alive: taking the
  // stream over would deliver again what it delivered and has not deleted yet, out of order.
  await t.kv.set(lease, { owner: "stalled", until: Date.now() - 200 });
  await t.kv.set(keys.outboxOwner("stalled"), { until: Date.now() + 60_000 });
  t.watcher.start();
  await t.write("r", 1);
  await aFakeSecondPasses();
  assert.equal(t.sink.delivered.length, 0);
});

Deno.test("OutboxWatcher delivers many streams together: one sink call per round, not per stream", async () => {
  await using t = await harness({ nudge: false });
  for (let room = 0; room < 40; room++) await t.write(`room${room}`, 1);
  t.watcher.start();
  await until(() => t.sink.delivered.length === 40);
  await t.watcher.settled(); // the round deletes what it delivered before it ends
  assert.ok(t.sink.calls <= 2, `${t.sink.calls} sink calls for 40 streams`);
  assert.deepEqual(await pendingRows(t.kv), []);
});

Deno.test("OutboxWatcher dead-letters only the batch that can never pass; the streams behind it go on", async () => {
  await using t = await harness({ nudge: false });
  for (const room of ["a", "b", "c"]) await t.write(room, 1);
  t.sink.failing = (batch) =>
    batch.stream === roomStream("a") ? new PermanentDeliveryError("HTTP 413") : null;
  t.watcher.start();
  await until(() => t.sink.delivered.length === 2);
  assert.deepEqual(t.sink.delivered.map((d) => d.stream).sort(), [roomStream("b"), roomStream("c")]);
  assert.equal((await t.kv.get(keys.outboxDead("realtime", roomStream("a"), 1))).value !== null, true);
  for (const room of ["b", "c"]) {
    assert.equal((await t.kv.get(keys.outboxDead("realtime", roomStream(room), 1))).value, null);
  }
});

Deno.test("OutboxWatcher counts an attempt for every stream of a round the unreachable sink failed", async () => {
  await using t = await harness({ nudge: false });
  for (const room of ["a", "b"]) await t.write(room, 1);
  t.sink.failing = () => new Error("connection refused");
  t.watcher.start();
  await until(async () => (await pendingRows(t.kv)).every((r) => r.value.attempts >= 1));
  t.sink.failing = null;
  await until(() => t.sink.delivered.length === 2);
});

/** Lets real I/O (KV) progress while the fake clock stands still. */
const realSetTimeout = globalThis.setTimeout;
const realSleep = (ms: number) => new Promise((resolve) => realSetTimeout(resolve, ms));

/** A second of timers and `Date` passes on a fake clock, in steps with real I/O (KV) between them. */
async function aFakeSecondPasses(): Promise<void> {
  const clock = FakeTimers.install({ toFake: ["setTimeout", "clearTimeout", "Date"] });
  try {
    for (let i = 0; i < 10; i++) {
      await clock.tickAsync(100);
      await realSleep(3);
    }
  } finally {
    clock.uninstall();
  }
}

async function eventuallyReal(condition: () => boolean | Promise<boolean>, label: string): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (await condition()) return;
    await realSleep(2);
  }
  throw new Error(`timed out waiting for ${label}`);
}

/** Writes `count` batches on each stream, as room commits would, without waking anyone. */
async function writeRows(kv: Deno.Kv, streams: string[], count: number): Promise<void> {
  for (const stream of streams) {
    for (let order = 1; order <= count; order += 20) {
      const op = kv.atomic();
      for (let o = order; o < order + 20 && o <= count; o++) {
        op.mutate(
          ...outboxBatchWrite("realtime", { stream, order: o, now: Date.now() }, [event(o)]).mutations,
        );
      }
      await op.commit();
    }
  }
}

Deno.test("OutboxWatcher drains 64 streams x 50 rows in one round, every commit within KV's limits, once", async () => {
  using kv = await Deno.openKv(":memory:");
  const streams = Array.from({ length: 64 }, (_, i) => roomStream(`room-${"x".repeat(100)}-${i}`));
  await writeRows(kv, streams, 50);
  const sink = new RecordingSink();
  const batcher = new CommitBatcher(kv);
  const watcher = new OutboxWatcher(kv, { sinks: { realtime: sink }, batcher, pageSize: 50 });
  await Promise.all(streams.map((stream) => watcher.drain("realtime", stream)));
  await watcher.settled();
  assert.equal(sink.delivered.length, 64 * 50);
  assert.equal((await pendingRows(kv)).length, 0);
  assert.equal((await kv.get<Deno.KvU64>(keys.outboxCount("realtime", "pending"))).value?.value, 0n);
  await Promise.all(streams.map((stream) => watcher.drain("realtime", stream, true)));
  assert.equal(sink.delivered.length, 64 * 50, "nothing delivered twice");
  await watcher.stop();
});

Deno.test("OutboxWatcher renews its leases while a round outlasts them: another watcher never takes the stream", async () => {
  const clock = FakeTimers.install({
    toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "Date"],
  });
  try {
    using kv = await Deno.openKv(":memory:");
    const stream = roomStream("r");
    await writeRows(kv, [stream], 3);
    const gate = Promise.withResolvers<void>();
    const slow = new RecordingSink();
    const slowSink: OutboxSink = {
      async deliver(batches) {
        slow.calls++;
        await gate.promise;
        return await slow.deliver(batches);
      },
    };
    const other = new RecordingSink();
    const first = new OutboxWatcher(kv, {
      sinks: { realtime: slowSink },
      batcher: new CommitBatcher(kv),
      leaseMs: 1000,
    });
    const second = new OutboxWatcher(kv, {
      sinks: { realtime: other },
      batcher: new CommitBatcher(kv),
      leaseMs: 1000,
    });
    const draining = first.drain("realtime", stream);
    await eventuallyReal(() => slow.calls === 1, "the first watcher's sink call");
    for (let i = 0; i < 15; i++) { // five lease times pass while its sink call hangs
      await clock.tickAsync(334);
      await realSleep(3);
    }
    const lease = await kv.get<{ until: number }>(keys.outboxLease("realtime", stream));
    assert.ok(lease.value && lease.value.until > Date.now(), "the lease was renewed");
    await second.drain("realtime", stream);
    assert.deepEqual(other.delivered, [], "the second watcher left the stream alone");
    gate.resolve();
    await draining;
    assert.deepEqual(slow.orders(stream), [1, 2, 3]);
    await second.drain("realtime", stream, true);
    assert.deepEqual(other.delivered, [], "nothing was left to deliver again");
    await first.stop();
    await second.stop();
  } finally {
    clock.uninstall();
  }
});

Deno.test("OutboxWatcher retries a delete commit that throws, and never delivers those batches again", async () => {
  const clock = FakeTimers.install({
    toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "Date"],
  });
  try {
    using store = await Deno.openKv(":memory:");
    let failNext = 0;
    // The store refuses the next commits after a delivery, as a busy or failing database does.
    const kv = new Proxy(store, {
      get(target, name) {
        if (name === "atomic") {
          return () => {
            const op = target.atomic();
            const commit = op.commit.bind(op);
            op.commit = () => failNext-- > 0 ? Promise.reject(new Error("database is busy")) : commit();
            return op;
          };
        }
        const value = Reflect.get(target, name);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const stream = roomStream("r");
    await writeRows(kv, [stream], 5);
    const sink = new RecordingSink();
    const delivering: OutboxSink = {
      async deliver(batches) {
        const report = await sink.deliver(batches);
        failNext = 3;
        return report;
      },
    };
    const watcher = new OutboxWatcher(kv, {
      sinks: { realtime: delivering },
      batcher: new CommitBatcher(kv),
    });
    const draining = watcher.drain("realtime", stream);
    for (let i = 0; i < 40 && (await pendingRows(store)).length > 0; i++) {
      await clock.tickAsync(100);
      await realSleep(3);
    }
    await draining;
    assert.deepEqual(sink.orders(stream), [1, 2, 3, 4, 5]);
    assert.equal((await pendingRows(store)).length, 0, "the delete went through on a later attempt");
    await watcher.drain("realtime", stream, true);
    assert.deepEqual(sink.orders(stream), [1, 2, 3, 4, 5], "nothing delivered twice");
    assert.equal((await store.get<Deno.KvU64>(keys.outboxCount("realtime", "pending"))).value?.value, 0n);
    await watcher.stop();
  } finally {
    clock.uninstall();
  }
});

Deno.test("the outbox counters equal the rows after deliveries, retries, dead letters, replay and purge", async () => {
  await using t = await harness({ nudge: false, retry: { baseMs: 5, maxMs: 10, maxAttempts: 5 } });
  const counted = async () => {
    const c = await outboxCounts(t.kv);
    const s = await outboxStats(t.kv);
    assert.deepEqual([c.pending, c.retrying, c.dead], [s.pending, s.retrying, s.dead]);
    return s;
  };
  for (let room = 0; room < 6; room++) {
    for (let order = 1; order <= 4; order++) await t.write(`r${room}`, order);
  }
  assert.equal((await counted()).pending, 24);
  // Streams r0 and r1 can never pass one batch, r2 fails twice, the others pass.
  const failures = new Map<string, number>();
  t.sink.failing = (batch) => {
    const n = (failures.get(batch.stream) ?? 0) + 1;
    failures.set(batch.stream, n);
    if (batch.stream === roomStream("r0") && batch.order === 1) return new PermanentDeliveryError("HTTP 413");
    if (batch.stream === roomStream("r1") && batch.order === 2) return new PermanentDeliveryError("HTTP 400");
    if (batch.stream === roomStream("r2") && n <= 2) return new Error("flaky");
    return null;
  };
  t.watcher.start();
  await until(async () => {
    const s = await outboxStats(t.kv);
    return s.dead === 2 && s.pending + s.retrying === 0;
  });
  await t.watcher.settled();
  const afterDrain = await counted();
  assert.deepEqual([afterDrain.pending, afterDrain.retrying, afterDrain.dead], [0, 0, 2]);
  t.sink.failing = null;
  assert.equal(await replayDead(t.kv, { all: true }), 2);
  await counted();
  await t.watcher.sweep();
  await until(async () => (await outboxStats(t.kv)).pending + (await outboxStats(t.kv)).retrying === 0);
  await t.watcher.settled();
  assert.deepEqual(Object.values(await counted()).slice(0, 3), [0, 0, 0]);
  // A purge takes dead batches off the counter too.
  t.sink.failing = () => new PermanentDeliveryError("HTTP 413");
  await t.write("r9", 1);
  await t.watcher.drain("realtime", roomStream("r9"));
  assert.equal((await counted()).dead, 1);
  assert.equal(await purgeDead(t.kv), 1);
  assert.equal((await counted()).dead, 0);
});

/** A store that counts the atomic commits made through it. */
function countingCommits(store: Deno.Kv): { kv: Deno.Kv; commits: () => number } {
  let commits = 0;
  const kv = new Proxy(store, {
    get(target, name) {
      if (name === "atomic") {
        return () => {
          const op = target.atomic();
          const commit = op.commit.bind(op);
          op.commit = () => {
            commits++;
            return commit();
          };
          return op;
        };
      }
      const value = Reflect.get(target, name);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { kv, commits: () => commits };
}

Deno.test("OutboxWatcher lets a round's lease go in the delete commit of its last rows: another watcher takes the stream at once", async () => {
  using store = await Deno.openKv(":memory:");
  const { kv, commits } = countingCommits(store);
  const stream = roomStream("r");
  await writeRows(store, [stream], 3);
  const sink = new RecordingSink();
  const first = new OutboxWatcher(kv, { sinks: { realtime: sink }, batcher: new CommitBatcher(kv) });
  await first.drain("realtime", stream);
  assert.deepEqual(sink.orders(stream), [1, 2, 3]);
  // The lease's commit, then the rows' delete with the release: no commit of its own for the release.
  assert.equal(commits(), 2);
  assert.equal(
    (await store.get(keys.outboxLease("realtime", stream))).versionstamp,
    null,
    "the lease is gone",
  );
  assert.equal((await pendingRows(store)).length, 0);
  // Another process's watcher on the same store drains the stream's next row at once, not a lease time later.
  await store.atomic().mutate(
    ...outboxBatchWrite("realtime", { stream, order: 4, now: Date.now() }, [event(4)]).mutations,
  ).commit();
  const other = new RecordingSink();
  const second = new OutboxWatcher(store, { sinks: { realtime: other }, batcher: new CommitBatcher(store) });
  await second.drain("realtime", stream);
  assert.deepEqual(other.orders(stream), [4]);
  await first.stop();
  await second.stop();
});

Deno.test("OutboxWatcher deletes its delivered rows even when the lease was taken over during the sink call, and leaves that lease alone", async () => {
  using kv = await Deno.openKv(":memory:");
  const stream = roomStream("r");
  await writeRows(kv, [stream], 3);
  const gate = Promise.withResolvers<void>();
  const sink = new RecordingSink();
  const slow: OutboxSink = {
    async deliver(batches) {
      await gate.promise;
      return await sink.deliver(batches);
    },
  };
  const watcher = new OutboxWatcher(kv, { sinks: { realtime: slow }, batcher: new CommitBatcher(kv) });
  const draining = watcher.drain("realtime", stream);
  const lease = keys.outboxLease("realtime", stream);
  await eventuallyReal(async () => (await kv.get(lease)).versionstamp !== null, "the lease");
  // Another process took the stream over (this one looked dead to it) while the sink call ran.
  await kv.set(lease, { owner: "another-process", until: Date.now() + 60_000 });
  gate.resolve();
  await draining;
  assert.deepEqual(sink.orders(stream), [1, 2, 3]);
  assert.equal((await pendingRows(kv)).length, 0, "the delivered rows are deleted, without the release");
  assert.equal((await kv.get<{ owner: string }>(lease)).value?.owner, "another-process");
  assert.equal((await kv.get<Deno.KvU64>(keys.outboxCount("realtime", "pending"))).value?.value, 0n);
  await watcher.stop();
});
