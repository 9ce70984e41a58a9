import assert from "node:assert/strict";
import { keys } from "../storage/keys.ts";
import { putPreferences } from "../storage/preferences.ts";
import type { PushOutcome } from "../outbox/onesignal.ts";
import { outboxBatchWrite, type PushNotificationEvent, userStream } from "../outbox/outbox.ts";
import { startRecorder } from "./support/onesignal_recorder.ts";
import { eventually, FAST_RETRY, pusherAt, startOutboxServer } from "./support/outbox_harness.ts";

const ONESIGNAL = (url: string) => ({
  ONESIGNAL_APP_ID: "os-app",
  ONESIGNAL_REST_API_KEY: "os-rest-key",
  ONESIGNAL_API_URL: url,
});

async function pushDrained(kv: Deno.Kv): Promise<boolean> {
  for await (const _ of kv.list({ prefix: keys.outboxPending("push") })) return false;
  return true;
}

async function socialDrained(kv: Deno.Kv): Promise<boolean> {
  for await (const _ of kv.list({ prefix: keys.outboxPending("social") })) return false;
  return true;
}

Deno.test("a new message is pushed through the real OneSignal client with API.md's body", async () => {
  await using rec = startRecorder();
  await using t = await startOutboxServer({ ...ONESIGNAL(rec.url), ...pusherAt(rec.port) }, {
    outbox: FAST_RETRY,
  });
  await t.login("alice", "Alice", "https://img.example/alice.png");
  await t.login("bob");
  const { message } = await t.ok<{ message: { id: string; roomId: string; seq: number } }>(
    "alice",
    "POST",
    "/api/chat/send",
    { receiverId: "bob", content: "Halo Bob, " + "x".repeat(120) },
  );
  await rec.until(() => rec.notifications().length === 1, "the push");
  const request = rec.requests.find((r) => r.path === "/notifications")!;
  assert.equal(request.method, "POST");
  assert.equal(request.headers["authorization"], "Key os-rest-key");
  const body = request.body as Record<string, unknown>;
  assert.equal(body.app_id, "os-app");
  assert.equal(body.target_channel, "push");
  assert.deepEqual(body.include_aliases, { external_id: ["bob"] });
  assert.deepEqual(body.headings, { en: "Pesan dari Alice" });
  assert.equal((body.contents as { en: string }).en, ("Halo Bob, " + "x".repeat(120)).slice(0, 100));
  assert.equal(body.url, `/messages?room=${message.roomId}`);
  assert.equal(body.chrome_web_icon, "https://img.example/alice.png");
  assert.match(
    String(body.idempotency_key),
    /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
  );
  assert.deepEqual(body.data, { type: "new-message", roomId: message.roomId, messageId: message.id, seq: 1 });
  await eventually(() => pushDrained(t.kv), "the push batch to be deleted");
  assert.equal(t.runtime.metrics.counter('push_outcomes_total{outcome="sent"}'), 1);
});

Deno.test("push honours enableAllPush, muted rooms and a stored oneSignalPlayerId", async () => {
  await using rec = startRecorder();
  await using t = await startOutboxServer({ ...ONESIGNAL(rec.url), ...pusherAt(rec.port) }, {
    outbox: FAST_RETRY,
  });
  for (const id of ["alice", "bob", "carol", "dave", "erin"]) await t.login(id);
  const { roomId } = await t.ok<{ roomId: string }>("alice", "POST", "/api/chat/groups", {
    name: "Team",
    memberIds: ["bob", "carol", "dave", "erin"],
  });
  // The social sink writes the group.added pushes; only once it is done can the push outbox be drained.
  await eventually(
    async () => (await socialDrained(t.kv)) && (await pushDrained(t.kv)),
    "the group.added notifications and their pushes",
  );
  const skippedBefore = t.runtime.metrics.counter('push_outcomes_total{outcome="skipped"}');
  await putPreferences(t.kv, "carol", { enableAllPush: false });
  await putPreferences(t.kv, "dave", { mutedRoomIds: [roomId] });
  await putPreferences(t.kv, "erin", { oneSignalPlayerId: "sub-erin" });
  await t.ok("alice", "POST", "/api/chat/send", { roomId, content: "rapat jam 3" });
  await eventually(() => pushDrained(t.kv), "the push batch");
  const sent = rec.notifications().filter((n) =>
    (n.data as { type?: string } | undefined)?.type === "new-message"
  );
  assert.equal(sent.length, 2);
  // One notification per recipient, sent side by side: in no particular order.
  assert.deepEqual(sent.map((n) => JSON.stringify(n.include_aliases ?? n.include_subscription_ids)).sort(), [
    JSON.stringify(["sub-erin"]),
    JSON.stringify({ external_id: ["bob"] }),
  ]);
  assert.notEqual(sent[0]!.idempotency_key, sent[1]!.idempotency_key);
  assert.equal(t.runtime.metrics.counter('push_outcomes_total{outcome="skipped"}') - skippedBefore, 2);
});

Deno.test("a push that failed with 500 is retried with the same idempotency key", async () => {
  await using rec = startRecorder();
  let failures = 0;
  rec.mode = (r) =>
    r.path === "/notifications" && failures++ < 2 ? { status: 500, body: { errors: ["boom"] } } : null;
  await using t = await startOutboxServer({ ...ONESIGNAL(rec.url), ...pusherAt(rec.port) }, {
    outbox: FAST_RETRY,
  });
  await t.login("bob");
  await t.ok("alice", "POST", "/api/chat/send", { receiverId: "bob", content: "hi" });
  await rec.until(() => rec.notifications().length === 1, "the push after two failures");
  await eventually(() => pushDrained(t.kv), "the push batch");
  const attempts = rec.requests.filter((r) => r.path === "/notifications");
  assert.deepEqual(attempts.map((r) => r.status), [500, 500, 200]);
  const keys_ = new Set(attempts.map((r) => (r.body as { idempotency_key: string }).idempotency_key));
  assert.equal(keys_.size, 1, "every attempt carries the same idempotency key");
  assert.equal(t.runtime.metrics.counter('outbox_failures_total{sink="push"}'), 2);
});

Deno.test("a 200 without id or with errors is recorded as not delivered and not retried", async () => {
  await using rec = startRecorder();
  rec.mode = (r) =>
    r.path === "/notifications"
      ? { status: 200, body: { id: "", errors: { invalid_aliases: { external_id: ["bob"] } } } }
      : null;
  await using t = await startOutboxServer({ ...ONESIGNAL(rec.url), ...pusherAt(rec.port) }, {
    outbox: FAST_RETRY,
  });
  await t.login("bob");
  const { message } = await t.ok<{ message: { id: string } }>("alice", "POST", "/api/chat/send", {
    receiverId: "bob",
    content: "hi",
  });
  await eventually(() => pushDrained(t.kv), "the push batch");
  await new Promise((resolve) => setTimeout(resolve, 300)); // a retry would have come by now
  assert.equal(rec.requests.filter((r) => r.path === "/notifications").length, 1);
  const outcomes = await Array.fromAsync(
    t.kv.list<PushOutcome>({ prefix: ["push_outcome", `push:${message.id}`] }),
  );
  assert.equal(outcomes.length, 1);
  assert.equal(outcomes[0]!.value.outcome, "not_delivered");
  assert.deepEqual(outcomes[0]!.value.errors, { invalid_aliases: { external_id: ["bob"] } });
  assert.equal(t.runtime.metrics.counter('push_outcomes_total{outcome="not_delivered"}'), 1);
  const metrics = await (await fetch(`${t.url}/metrics`)).text();
  assert.match(metrics, /push_outcomes_total\{outcome="not_delivered"\} 1/);
});

Deno.test("without OneSignal keys push is disabled: no push rows, /healthz says so", async () => {
  await using rec = startRecorder();
  await using t = await startOutboxServer(pusherAt(rec.port), { outbox: FAST_RETRY });
  await t.login("bob");
  await t.ok("alice", "POST", "/api/chat/send", { receiverId: "bob", content: "hi" });
  await rec.until(() => rec.events.some((e) => e.name === "new-message"), "the realtime event");
  assert.equal(await pushDrained(t.kv), true);
  const health = await (await fetch(`${t.url}/healthz`)).json();
  assert.equal(health.push, "disabled");
  assert.equal(health.realtime, "pusher");
});

Deno.test("a social notification's push event goes out once, with the notification as the push", async () => {
  await using rec = startRecorder();
  await using t = await startOutboxServer({ ...ONESIGNAL(rec.url), ...pusherAt(rec.port) }, {
    outbox: FAST_RETRY,
  });
  const event: PushNotificationEvent = {
    type: "push.notification",
    userId: "bob",
    subscriptionId: null,
    eventId: "notification:bob:1",
    notification: { id: "n1", type: "follow", title: "Alice started following you", body: "", link: null },
  };
  const out = outboxBatchWrite("push", { stream: userStream("bob"), order: 1, now: Date.now() }, [event]);
  await t.runtime.batcher.commit({ checks: [], mutations: out.mutations, wake: out.wake, bytes: out.bytes });
  await rec.until(() => rec.notifications().length === 1, "the notification push");
  const body = rec.notifications()[0]!;
  assert.deepEqual(body.include_aliases, { external_id: ["bob"] });
  assert.deepEqual(body.headings, { en: "Alice started following you" });
  assert.equal(body.url, "/notifications");
  await eventually(() => pushDrained(t.kv), "the push batch");
});

Deno.test("a push retried after a recipient's preferences changed reaches nobody twice", async () => {
  await using rec = startRecorder();
  let failErin = true;
  let changing: Promise<unknown> | null = null;
  await using t = await startOutboxServer({ ...ONESIGNAL(rec.url), ...pusherAt(rec.port) }, {
    outbox: { ...FAST_RETRY, retry: { baseMs: 50, maxMs: 100, maxAttempts: 50 } },
  });
  // The push to erin's subscription fails until carol, meanwhile, has turned push off.
  rec.mode = (r) => {
    const body = r.body as { include_subscription_ids?: string[]; data?: { type?: string } };
    if (r.path !== "/notifications" || body.data?.type !== "new-message") return null;
    if (!body.include_subscription_ids?.includes("sub-erin") || !failErin) return null;
    changing ??= putPreferences(t.kv, "carol", { enableAllPush: false }).then(() => failErin = false);
    return { status: 500, body: { errors: ["try again"] } };
  };
  for (const id of ["alice", "bob", "carol", "erin"]) await t.login(id);
  await putPreferences(t.kv, "erin", { oneSignalPlayerId: "sub-erin" });
  const { roomId } = await t.ok<{ roomId: string }>("alice", "POST", "/api/chat/groups", {
    name: "Team",
    memberIds: ["bob", "carol", "erin"],
  });
  await eventually(() => pushDrained(t.kv), "the group.added pushes");
  await t.ok("alice", "POST", "/api/chat/send", { roomId, content: "rapat jam 3" });
  await eventually(() => changing !== null && !failErin, "the failure and the preference change");
  await eventually(() => pushDrained(t.kv), "the retried push batch");
  // OneSignal delivers a notification once per idempotency key: count distinct keys per recipient.
  const keysByUser = new Map<string, Set<string>>();
  for (const n of rec.notifications()) {
    if ((n.data as { type?: string }).type !== "new-message") continue;
    const users = (n.include_aliases as { external_id?: string[] } | undefined)?.external_id ??
      (n.include_subscription_ids as string[]).map((id) => id === "sub-erin" ? "erin" : id);
    for (const user of users) {
      if (!keysByUser.has(user)) keysByUser.set(user, new Set());
      keysByUser.get(user)!.add(String(n.idempotency_key));
    }
  }
  assert.deepEqual(
    [...keysByUser].map(([user, keys]) => [user, keys.size]).sort(),
    [["bob", 1], ["carol", 1], ["erin", 1]],
    "each recipient pushed once",
  );
});
