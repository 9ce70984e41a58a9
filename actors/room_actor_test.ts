import assert from "node:assert/strict";
import FakeTimers from "@sinonjs/fake-timers";
import { HttpError } from "../http_error.ts";
import { CommitBatcher } from "../storage/commit_batcher.ts";
import { keys } from "../storage/keys.ts";
import { retryingCommits } from "../storage/kv.ts";
import type { Profile, RoomState } from "../storage/records.ts";
import { faultyKv, writes } from "../test/support/faulty_kv.ts";
import { RoomActors, type RoomActorsOptions } from "./room_actor.ts";

const alice: Profile = { id: "alice", name: "Alice", avatar: null };
const bob: Profile = { id: "bob", name: "Bob", avatar: null };
const carol: Profile = { id: "carol", name: "Carol", avatar: null };

/** Room actors over `kv` with their own batcher, as one process has them. */
function actorsOver(kv: Deno.Kv, options: Partial<RoomActorsOptions> = {}) {
  const batcher = new CommitBatcher(kv, { maxInFlight: 1 });
  return new RoomActors(kv, { batcher, sendLimit: 0, push: false, ...options });
}

/** Counts reads and commits, and the messages each commit writes. */
function counted(kv: Deno.Kv) {
  const stats = { reads: 0, commits: 0, messagesPerCommit: [] as number[] };
  const wrapped = new Proxy(kv, {
    get(target, name) {
      if (name === "get" || name === "getMany") {
        return (...args: unknown[]) => {
          stats.reads++;
          return (Reflect.get(target, name) as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      const value = Reflect.get(target, name);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return {
    stats,
    kv: faultyKv(wrapped, {
      before: (mutations) => {
        stats.commits++;
        stats.messagesPerCommit.push(mutations.filter((m) => m.key[0] === "msg").length);
      },
    }),
  };
}

async function group(actors: RoomActors, roomId: string, members: Profile[]): Promise<void> {
  await actors.dispatch(roomId, {
    kind: "createGroup",
    creator: members[0]!,
    name: "Team",
    avatar: null,
    memberIds: members.slice(1).map((m) => m.id),
  });
}

function send(actors: RoomActors, roomId: string, sender: Profile, content: string) {
  return actors.dispatch(roomId, { kind: "send", sender, input: { content, type: "text" } });
}

Deno.test("RoomActors folds the commands that queue during a commit into the next batch", async () => {
  using kv = await Deno.openKv(":memory:");
  const c = counted(kv);
  const actors = actorsOver(c.kv);
  await group(actors, "g", [alice, bob]);
  c.stats.commits = 0;
  const results = await Promise.all(Array.from({ length: 50 }, (_, i) => send(actors, "g", alice, `m${i}`)));
  assert.deepEqual(results.map((r) => r.message.seq), Array.from({ length: 50 }, (_, i) => i + 1));
  assert.ok(c.stats.commits <= 3, `${c.stats.commits} commits for 50 queued sends`);
});

Deno.test("RoomActors splits a batch that exceeds one commit's limits, then grows the batch back by one per commit", async () => {
  using kv = await Deno.openKv(":memory:");
  const c = counted(kv);
  // A batcher that takes at most 43 mutations per atomic: 64 sends cannot go in one commit (a commit
  // writes about 11 besides its messages: head, outbox row, counters, room-list entries).
  const batcher = new CommitBatcher(c.kv, { maxInFlight: 1, limits: { mutations: 43 } });
  const actors = new RoomActors(c.kv, { batcher, sendLimit: 0, push: false, maxBatch: 64 });
  await group(actors, "g", [alice, bob]);
  c.stats.messagesPerCommit = [];
  const first = await Promise.all(Array.from({ length: 64 }, (_, i) => send(actors, "g", alice, `a${i}`)));
  assert.equal(first.at(-1)!.message.seq, 64);
  const sizes = c.stats.messagesPerCommit.filter((n) => n > 0);
  assert.ok(Math.max(...sizes) < 64, `split into ${sizes}`);
  assert.equal(sizes.reduce((a, b) => a + b, 0), 64, "every send committed once");
  // The cap that fit grows back by one per commit: each round's largest commit is larger than the last's.
  let previous = Math.max(...sizes);
  for (let round = 0; round < 3; round++) {
    c.stats.messagesPerCommit = [];
    await Promise.all(Array.from({ length: 64 }, (_, i) => send(actors, "g", alice, `b${round}.${i}`)));
    const largest = Math.max(...c.stats.messagesPerCommit);
    assert.ok(
      largest > previous && largest <= previous + c.stats.messagesPerCommit.length,
      `${largest} after ${previous}`,
    );
    previous = largest;
  }
});

Deno.test("RoomActors verifies a cached head before answering a batch that writes nothing", async () => {
  using kv = await Deno.openKv(":memory:");
  const c = counted(kv);
  const a = actorsOver(c.kv);
  const b = actorsOver(kv); // another process on the same store
  await group(a, "g", [alice, bob]);
  await send(a, "g", bob, "hi");
  assert.equal((await a.dispatch("g", { kind: "read", userId: alice.id })).unreadCount, 0);

  // Nothing changed elsewhere: one read confirms the cached head, and the answer stands.
  c.stats.reads = 0;
  assert.equal((await a.dispatch("g", { kind: "read", userId: alice.id })).unreadCount, 0);
  assert.equal(c.stats.reads, 1);

  // Another process adds carol and bob writes: a's cached head is stale, and neither answer may come from it.
  await b.dispatch("g", { kind: "addMembers", userId: alice.id, memberIds: [carol.id] });
  await send(b, "g", bob, "two");
  const read = await a.dispatch("g", { kind: "read", userId: carol.id });
  assert.equal(read.unreadCount, 0, "carol is a member, with nothing unread from before she came");
  assert.equal((await a.dispatch("g", { kind: "read", userId: alice.id, upToSeq: 1 })).unreadCount, 1);
});

Deno.test("RoomActors drops idle heads beyond its bounds, least recently used first, by count and by bytes", async () => {
  using kv = await Deno.openKv(":memory:");
  const byCount = actorsOver(kv, { maxCachedRooms: 2 });
  for (const room of ["r1", "r2", "r3"]) await group(byCount, room, [alice, bob]);
  assert.equal(byCount.cached.rooms, 2);
  await send(byCount, "r1", alice, "back"); // r1 reloads; r2 is now the least recently used
  assert.equal(byCount.cached.rooms, 2);

  const big = Array.from(
    { length: 150 },
    (_, i): Profile => ({ id: `member-${i}`, name: `M${i}`, avatar: null }),
  );
  const byBytes = actorsOver(kv, { maxCachedBytes: 20 * 1024 });
  for (const room of ["big1", "big2", "big3"]) await group(byBytes, room, [alice, ...big]);
  const { rooms, bytes } = byBytes.cached;
  assert.ok(rooms >= 1 && rooms < 3, `${rooms} large heads kept`);
  assert.ok(bytes <= 20 * 1024, `${bytes} bytes kept`);
});

Deno.test("RoomActors refuses a command with 503 and Retry-After when the room's mailbox is full", async () => {
  using kv = await Deno.openKv(":memory:");
  const actors = actorsOver(kv, { maxQueuedPerRoom: 3 });
  await group(actors, "g", [alice, bob]);
  const outcomes = await Promise.allSettled(
    Array.from({ length: 8 }, (_, i) => send(actors, "g", alice, `m${i}`)),
  );
  const refused = outcomes.filter((o) => o.status === "rejected");
  assert.equal(outcomes.filter((o) => o.status === "fulfilled").length, 4, "one running, three waiting");
  for (const o of refused) {
    const err = (o as PromiseRejectedResult).reason;
    assert.ok(err instanceof HttpError && err.status === 503 && err.headers?.["Retry-After"] === "1");
  }
});

Deno.test("RoomActors answers 503 when the batcher is overloaded", async () => {
  using kv = await Deno.openKv(":memory:");
  const batcher = new CommitBatcher(kv, { maxQueued: 0 });
  const actors = new RoomActors(kv, { batcher, sendLimit: 0, push: false });
  await assert.rejects(
    group(actors, "g", [alice, bob]),
    (err) =>
      err instanceof HttpError && err.status === 503 &&
      err.message === "The server is busy, retry the request",
  );
});

Deno.test("RoomActors gives up with 503 after a bounded number of lost checks, backing off between them", async () => {
  const realTimeout = globalThis.setTimeout;
  using kv = await Deno.openKv(":memory:");
  const setup = actorsOver(kv);
  await group(setup, "g", [alice, bob]);
  // Another process commits the room right before every one of our commits.
  let commits = 0;
  const racing = faultyKv(kv, {
    before: async (mutations) => {
      if (!writes(mutations, "msg", "g")) return;
      commits++;
      const head = await kv.get<RoomState>(keys.room("g"));
      await kv.set(keys.room("g"), { ...head.value!, lastActivityAt: head.value!.lastActivityAt + 1 });
    },
  });
  const clock = FakeTimers.install({ toFake: ["setTimeout", "clearTimeout"] });
  try {
    const actors = actorsOver(retryingCommits(racing));
    let outcome: unknown;
    const done = send(actors, "g", alice, "never").then((v) => outcome = v, (e) => outcome = e);
    while (outcome === undefined) {
      await clock.tickAsync(100); // the backoff between attempts
      await new Promise((resolve) => realTimeout(resolve, 1)); // let KV's real I/O go on
    }
    await done;
    assert.ok(outcome instanceof HttpError && outcome.status === 503, String(outcome));
    assert.equal(commits, 12, "every attempt tried once");
  } finally {
    clock.uninstall();
  }
});

Deno.test("RoomActors reports a commit whose answer was lost once its receipt shows it happened, and only once", async () => {
  using kv = await Deno.openKv(":memory:");
  let lose = 1;
  const lossy = faultyKv(kv, { loseAnswer: (mutations) => writes(mutations, "msg") && lose-- > 0 && "once" });
  const commits: { order: number; types: string[] }[] = [];
  const actors = actorsOver(lossy, {
    commitReceipts: true,
    onCommitted: (commit) => commits.push({ order: commit.order, types: commit.events.map((e) => e.type) }),
  });
  await group(actors, "g1", [alice, bob]);
  const { message } = await send(actors, "g1", alice, "hello");
  assert.equal(message.seq, 1);
  assert.equal(lose, 0, "the send's commit answer was lost");
  assert.deepEqual(commits.map((c) => c.types.includes("message.created")), [false, true]);
  assert.deepEqual(commits.map((c) => c.order), [1, 2], "each commit's outbox batch, once, in order");
});
