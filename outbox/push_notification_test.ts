import assert from "node:assert/strict";
import { DEFAULT_PREFERENCES } from "../storage/preferences.ts";
import type { Preferences } from "../storage/records.ts";
import type { PushMessageEvent, PushNotificationEvent } from "./outbox.ts";
import {
  buildNotification,
  buildNotificationPush,
  idempotencyKey,
  notificationTarget,
  pushEventId,
  pushTargets,
} from "./push_notification.ts";

const event: PushMessageEvent = {
  type: "push.message",
  roomId: "g_1",
  messageId: "g_1:7",
  seq: 7,
  sender: { id: "alice", name: "Alice", avatar: "https://img.example/a.png" },
  text: "hello",
  recipients: ["carol", "bob", "dave", "erin"],
};

const prefs = (p: Partial<Preferences>): Preferences => ({ ...DEFAULT_PREFERENCES, mutedRoomIds: [], ...p });

Deno.test("pushTargets() skips push-off and muted users and targets player ids by subscription", () => {
  const { targets, skipped } = pushTargets(
    event,
    new Map([
      ["bob", prefs({})],
      ["carol", prefs({ enableAllPush: false })],
      ["dave", prefs({ mutedRoomIds: ["g_1"] })],
      ["erin", prefs({ oneSignalPlayerId: "sub-erin" })],
    ]),
  );
  assert.deepEqual(skipped, ["carol", "dave"]);
  assert.deepEqual(targets, [
    { kind: "external_id", userId: "bob" },
    { kind: "subscription", userId: "erin", subscriptionId: "sub-erin" },
  ]);
});

Deno.test("pushTargets() gives every recipient a target of their own, whatever the others' preferences", () => {
  const before = pushTargets(event, new Map([["bob", prefs({})], ["carol", prefs({})]]));
  const after = pushTargets(event, new Map([["bob", prefs({})], ["carol", prefs({ enableAllPush: false })]]));
  const bob = (t: { targets: { userId: string }[] }) => t.targets.find((x) => x.userId === "bob");
  assert.deepEqual(bob(before), bob(after));
  assert.equal(before.targets.length, 4);
});

Deno.test("idempotencyKey() is a stable UUID per event and recipient", () => {
  const key = idempotencyKey(pushEventId(event), "bob");
  assert.match(key, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(idempotencyKey(pushEventId(event), "bob"), key);
  assert.notEqual(idempotencyKey(pushEventId(event), "carol"), key);
  assert.notEqual(idempotencyKey("push:g_1:8", "bob"), key);
});

Deno.test("buildNotification() builds API.md's push body", () => {
  const body = buildNotification("app-1", { ...event, text: "y".repeat(140) }, {
    kind: "external_id",
    userId: "bob",
  });
  assert.equal(body.app_id, "app-1");
  assert.equal(body.target_channel, "push");
  assert.deepEqual(body.include_aliases, { external_id: ["bob"] });
  assert.deepEqual(body.headings, { en: "Pesan dari Alice" });
  assert.equal(body.contents.en, "y".repeat(100));
  assert.equal(body.url, "/messages?room=g_1");
  assert.equal(body.chrome_web_icon, "https://img.example/a.png");
  assert.deepEqual(body.data, { type: "new-message", roomId: "g_1", messageId: "g_1:7", seq: 7 });
  const sub = buildNotification("app-1", event, { kind: "subscription", userId: "e", subscriptionId: "s" });
  assert.deepEqual(sub.include_subscription_ids, ["s"]);
  assert.equal(sub.include_aliases, undefined);
});

const followed: PushNotificationEvent = {
  type: "push.notification",
  userId: "bob",
  subscriptionId: null,
  eventId: "notification:bob:3",
  notification: {
    id: "n3",
    type: "follow",
    title: "Alice started following you",
    body: "",
    link: "/users/alice",
    metadata: { actorId: "alice", actorAvatar: "https://img.example/a.png" },
  },
};

Deno.test("notificationTarget() reads preferences at delivery: push off skips, a player id is targeted", () => {
  assert.deepEqual(notificationTarget(followed, undefined), { kind: "external_id", userId: "bob" });
  assert.equal(notificationTarget(followed, prefs({ enableAllPush: false })), null);
  assert.deepEqual(notificationTarget(followed, prefs({ oneSignalPlayerId: "sub-b" })), {
    kind: "subscription",
    userId: "bob",
    subscriptionId: "sub-b",
  });
});

Deno.test("buildNotificationPush() uses the title, the link and the actor's avatar", () => {
  const body = buildNotificationPush("app-1", followed, { kind: "external_id", userId: "bob" });
  assert.deepEqual(body.headings, { en: "Alice started following you" });
  assert.deepEqual(body.contents, { en: "Alice started following you" });
  assert.equal(body.url, "/users/alice");
  assert.equal(body.chrome_web_icon, "https://img.example/a.png");
  assert.deepEqual(body.data, { type: "notification", notificationId: "n3", kind: "follow" });
  assert.equal(body.idempotency_key, idempotencyKey("notification:bob:3", "bob"));
});
