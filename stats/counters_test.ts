import assert from "node:assert/strict";
import { RoomActors } from "../actors/room_actor.ts";
import { CommitBatcher } from "../storage/commit_batcher.ts";
import { counterValue } from "../storage/counters.ts";
import { keys } from "../storage/keys.ts";
import type { Profile } from "../storage/records.ts";
import { ActiveToday, activityWrite, DAY_MS, dayOf, HOUR_MS, hourOf, roomEventCounters } from "./counters.ts";
import { readStatsTotals, readStatsWindow } from "./read.ts";

const alice: Profile = { id: "alice", name: "Alice", avatar: null };
const bob: Profile = { id: "bob", name: "Bob", avatar: null };
const DAY = 20_400; // 2025-11-08
const NOON = DAY * DAY_MS + 12 * HOUR_MS;

/** Room actors of one process over `kv`, on a clock the test moves. */
function actorsAt(kv: Deno.Kv, clock: { now: number }) {
  const batcher = new CommitBatcher(kv, { maxInFlight: 1 });
  return new RoomActors(kv, { batcher, sendLimit: 0, push: false, now: () => clock.now });
}

async function groupOf(actors: RoomActors, roomId: string, members: Profile[]) {
  await actors.dispatch(roomId, {
    kind: "createGroup",
    creator: members[0]!,
    name: roomId,
    avatar: null,
    memberIds: members.slice(1).map((m) => m.id),
  });
}

function send(actors: RoomActors, roomId: string, sender: Profile, content: string) {
  return actors.dispatch(roomId, { kind: "send", sender, input: { content, type: "text" } });
}

async function counter(kv: Deno.Kv, key: Deno.KvKey): Promise<number> {
  return counterValue(await kv.get(key));
}

Deno.test("roomEventCounters() adds a commit's messages to its hour and type, and rooms to their type", () => {
  const now = 1_000 * HOUR_MS + 5;
  const sums = roomEventCounters("GROUP", [
    { type: "room.created" },
    { type: "message.created" },
    { type: "message.created" },
    { type: "message.read" },
  ], now);
  assert.deepEqual(sums.map((m) => [m.key, (m as { value: Deno.KvU64 }).value.value]), [
    [keys.statsMessages(1_000, "GROUP"), 2n],
    [keys.statsTotal("messages", "GROUP"), 2n],
    [keys.statsTotal("rooms", "GROUP"), 1n],
  ]);
  assert.deepEqual(roomEventCounters("DIRECT", [{ type: "message.read" }], now), []);
});

Deno.test("activityWrite() counts a user once per day and moves them between last-active buckets", () => {
  const fresh = activityWrite(
    "alice",
    { key: keys.statsUserDay("alice"), value: null, versionstamp: null },
    DAY,
  );
  assert.ok(fresh);
  assert.deepEqual(fresh.checks, [{ key: keys.statsUserDay("alice"), versionstamp: null }]);
  assert.deepEqual(fresh.mutations.map((m) => m.key), [
    keys.statsUserDay("alice"),
    keys.statsActive(DAY),
    keys.statsLastActive(DAY),
  ]);
  const today = { key: keys.statsUserDay("alice"), value: DAY, versionstamp: "01" };
  assert.equal(activityWrite("alice", today, DAY), null);
  const next = activityWrite("alice", today, DAY + 1)!;
  assert.deepEqual(next.checks, [{ key: keys.statsUserDay("alice"), versionstamp: "01" }]);
  assert.deepEqual(next.mutations.map((m) => m.key).at(-1), keys.statsLastActive(DAY));
  assert.equal((next.mutations.at(-1) as { value: Deno.KvU64 }).value.value, 2n ** 64n - 1n);
});

Deno.test("ActiveToday forgets the users it saw when the day turns", () => {
  const seen = new ActiveToday();
  seen.remember(["alice"], DAY);
  assert.deepEqual(seen.unknown(["alice", "bob", "bob"], DAY), ["bob"]);
  assert.deepEqual(seen.unknown(["alice"], DAY + 1), ["alice"]);
  seen.remember(["bob"], DAY + 1);
  assert.deepEqual(seen.unknown(["alice", "bob"], DAY + 1), ["alice"]);
});

Deno.test("room commits count a user active once per day, whatever they do in how many rooms", async () => {
  using kv = await Deno.openKv(":memory:");
  const clock = { now: NOON };
  const actors = actorsAt(kv, clock);
  await groupOf(actors, "g1", [alice, bob]);
  await groupOf(actors, "g2", [alice, bob]);
  for (let i = 0; i < 5; i++) {
    await Promise.all([send(actors, "g1", alice, `a${i}`), send(actors, "g2", alice, `b${i}`)]);
  }
  await actors.dispatch("g1", { kind: "read", userId: "bob", upToSeq: 10 });
  assert.equal(await counter(kv, keys.statsActive(DAY)), 2);
  assert.equal(await counter(kv, keys.statsTotal("messages", "GROUP")), 10);
  assert.equal(await counter(kv, keys.statsTotal("rooms", "GROUP")), 2);
  assert.equal(await counter(kv, keys.statsMessages(hourOf(NOON), "GROUP")), 10);

  clock.now += DAY_MS; // the next day: counted again, once, and still one user in the last 7 days
  await send(actors, "g1", alice, "next day");
  await send(actors, "g2", alice, "next day again");
  const window = await readStatsWindow(kv, { days: 2, now: clock.now });
  assert.deepEqual(window.activeUsers.perDay.map((d) => d.count), [2, 1]);
  assert.equal(window.activeUsers.today, 1);
  assert.equal(window.activeUsers.last7Days, 2);
  assert.equal(window.messages.total, 12);
  assert.equal(window.messages.perHour.length, 48);
  assert.deepEqual(window.messages.perHour.filter((h) => h.count > 0), [
    { at: "2025-11-08T12:00:00.000Z", count: 10, direct: 0, group: 10 },
    { at: "2025-11-09T12:00:00.000Z", count: 2, direct: 0, group: 2 },
  ]);

  clock.now += 7 * DAY_MS; // bob's last day is 8 days ago: out of the last 7 days
  await send(actors, "g1", alice, "a week later");
  const later = await readStatsTotals(kv, { now: clock.now });
  assert.deepEqual(later.activeUsers, { today: 1, last7Days: 1 });
  assert.equal(dayOf(clock.now), DAY + 8);
});

Deno.test("two processes on one KV file count a user active once when their first commits of the day race", async () => {
  const dir = await Deno.makeTempDir();
  try {
    using kvA = await Deno.openKv(`${dir}/chat.kv`);
    using kvB = await Deno.openKv(`${dir}/chat.kv`);
    const clock = { now: NOON };
    const a = actorsAt(kvA, clock);
    const b = actorsAt(kvB, clock);
    const users = Array.from(
      { length: 6 },
      (_, i): Profile => ({ id: `u${i}`, name: `U${i}`, avatar: null }),
    );
    // Rooms created on the day before: every user's first act of DAY is a send, through both processes at once.
    clock.now = NOON - DAY_MS;
    for (const user of users) {
      await groupOf(a, `a-${user.id}`, [user, alice]);
      await groupOf(a, `b-${user.id}`, [user, alice]);
    }
    clock.now = NOON;
    await Promise.all(users.flatMap((user) => [
      send(a, `a-${user.id}`, user, "from A"),
      send(b, `b-${user.id}`, user, "from B"),
    ]));
    assert.equal(await counter(kvA, keys.statsActive(DAY)), users.length);
    assert.equal(await counter(kvA, keys.statsLastActive(DAY)), users.length);
    assert.equal(await counter(kvA, keys.statsLastActive(DAY - 1)), 0);
    assert.equal(await counter(kvA, keys.statsTotal("messages", "GROUP")), 2 * users.length);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
