import assert from "node:assert/strict";
import { GROUP_ADDED_PER_HOUR } from "../social/group_added.ts";
import { keys } from "../storage/keys.ts";
import { expectStatus } from "./helpers.ts";
import { eventually, type OutboxServer, startOutboxServer } from "./support/outbox_harness.ts";
import { startObserver } from "./support/realtime_observer.ts";
import { startServer } from "./support/server_process.ts";

type Notification = {
  id: string;
  type: string;
  title: string;
  link: string;
  metadata: Record<string, unknown>;
};

async function notifications(t: OutboxServer, user: string): Promise<Notification[]> {
  return (await expectStatus<{ notifications: Notification[] }>(
    await t.api(user, "GET", "/api/notifications?limit=100"),
    200,
  )).notifications;
}

Deno.test("creating a group and adding members notify each added user once, not the one who added them", async () => {
  await using t = await startOutboxServer();
  for (const u of ["alice", "bob", "carol", "dave"]) await t.login(u);
  const { roomId } = await expectStatus<{ roomId: string }>(
    await t.api("alice", "POST", "/api/chat/groups", { name: "Hiking", memberIds: ["bob", "alice"] }),
    200,
  );
  await eventually(async () => (await notifications(t, "bob")).length > 0, "bob's notification");
  const [added] = await notifications(t, "bob");
  assert.equal(added?.type, "group.added");
  assert.equal(added?.title, "Alice added you to Hiking");
  assert.equal(added?.link, `/messages?room=${roomId}`);
  assert.deepEqual(added?.metadata, {
    actorId: "alice",
    actorName: "Alice",
    actorAvatar: null,
    roomId,
    roomName: "Hiking",
  });
  await expectStatus(
    await t.api("alice", "POST", `/api/chat/rooms/${roomId}/members`, { userIds: ["bob", "carol"] }),
    200,
  );
  await eventually(async () => (await notifications(t, "carol")).length > 0, "carol's notification");
  await t.runtime.watcher.settled();
  assert.deepEqual((await notifications(t, "carol")).map((n) => n.title), ["Alice added you to Hiking"]);
  assert.equal((await notifications(t, "bob")).length, 1, "bob was a member already");
  assert.deepEqual(await notifications(t, "alice"), []);
  assert.deepEqual(await notifications(t, "dave"), []);
});

Deno.test(`one actor's group adds notify a user at most ${GROUP_ADDED_PER_HOUR} times an hour`, async () => {
  await using t = await startOutboxServer();
  for (const u of ["mallory", "bob", "carol"]) await t.login(u);
  for (let i = 0; i <= GROUP_ADDED_PER_HOUR; i++) {
    await expectStatus(
      await t.api("mallory", "POST", "/api/chat/groups", { name: `Spam ${i}`, memberIds: ["bob"] }),
      200,
    );
  }
  // Someone else's add still notifies.
  await expectStatus(
    await t.api("carol", "POST", "/api/chat/groups", { name: "Book club", memberIds: ["bob"] }),
    200,
  );
  await eventually(
    async () => (await notifications(t, "bob")).some((n) => n.title === "Carol added you to Book club"),
    "carol's add",
  );
  await t.runtime.watcher.settled();
  const titles = (await notifications(t, "bob")).map((n) => n.title);
  assert.equal(titles.filter((title) => title.startsWith("Mallory")).length, GROUP_ADDED_PER_HOUR);
  assert.equal(titles.length, GROUP_ADDED_PER_HOUR + 1);
  // Bob is in every group all the same.
  const rooms = await expectStatus<{ rooms: unknown[] }>(await t.api("bob", "GET", "/api/chat/rooms"), 200);
  assert.equal(rooms.rooms.length, GROUP_ADDED_PER_HOUR + 2);
});

Deno.test("a server killed between a group's membership commit and its notifications: the added users still get group.added", async () => {
  await using observer = await startObserver();
  const dir = await Deno.makeTempDir({ prefix: "durable-chat-group-added-" });
  const kvPath = `${dir}/chat.kv`;
  const env = { KV_PATH: kvPath, RATE_LIMIT_SEND_PER_MIN: "0", ...observer.env };
  const members = Array.from({ length: 199 }, (_, i) => `member${i}`);
  try {
    const first = await startServer(env);
    const owner = await first.login("owner", "Owner");
    for (const id of members) await first.login(id);
    await observer.watchUsers(members.slice(0, 20));
    // The test watches the store and kills the server the moment the group exists.
    using kv = await Deno.openKv(kvPath);
    const created = fetch(`${first.url}/api/chat/groups`, {
      method: "POST",
      headers: { Authorization: `Bearer ${owner}`, "Content-Type": "application/json" },
      body: JSON.stringify({ name: "Everyone", memberIds: members }),
    }).then((res) => res.status, () => "killed");
    let roomId: string | undefined;
    for (let i = 0; i < 200_000 && roomId === undefined; i++) {
      for await (const entry of kv.list({ prefix: keys.userRooms("owner", false) }, { limit: 1 })) {
        roomId = entry.key[4] as string;
      }
    }
    assert.ok(roomId, "the group was created");
    assert.equal(await first.stop("SIGKILL"), 137);
    await created;
    const heads = await Array.fromAsync(kv.list({ prefix: ["notif_head"] }));
    console.log(`killed with ${heads.length} of ${members.length} notifications written`);

    await using second = await startServer(env);
    const token = await second.login("member0");
    const feed = async (userToken: string) => {
      const res = await fetch(`${second.url}/api/notifications?limit=100`, {
        headers: { Authorization: `Bearer ${userToken}` },
      });
      return (await res.json()).notifications as Notification[];
    };
    await eventually(async () => (await feed(token)).length > 0, "member0's notification", 20_000);
    await eventually(
      async () => (await Array.fromAsync(kv.list({ prefix: ["notif_head"] }))).length === members.length,
      "every member's notification",
      20_000,
    );
    for (const id of [members[0]!, members[98]!, members[198]!]) {
      const notes = await feed(await second.login(id));
      assert.deepEqual(notes.map((n) => [n.type, n.metadata.roomId]), [["group.added", roomId]], id);
    }
    await observer.waitFor(() => observer.notifications.length >= 20, 20_000, "user-channel notifications");
    for (const id of members.slice(0, 20)) {
      // At least once: a delivery cut by the kill may be repeated, but it is the one notification.
      const seen = new Set(
        observer.notifications.filter((n) => n.userId === id).map((n) => `${n.type} ${n.id}`),
      );
      assert.deepEqual([...seen], ["group.added n1"], id);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
