import assert from "node:assert/strict";
import Pusher from "pusher";
import {
  checkPublishEvent,
  handleHttpApiRequest,
  type HttpApiOptions,
  MAX_BODY_BYTES,
  parseBatchBody,
  parseEventsBody,
  type PublishEvent,
  PusherApiError,
} from "./http_api.ts";

const APP = { appId: "42", key: "app-key", secret: "app-secret" };
const pusher = new Pusher({ ...APP, host: "127.0.0.1" });

function setup() {
  const published: PublishEvent[][] = [];
  const terminated: string[] = [];
  const options: HttpApiOptions = {
    ...APP,
    publish: (events) => published.push(events),
    terminateUser: (userId) => terminated.push(userId),
    channelCounts: (channel) => ({ subscriptionCount: channel.length, userCount: 2 }),
  };
  return { published, terminated, options };
}

/** A request signed by the real npm:pusher library. */
function signedRequest(path: string, body: unknown, signer = pusher): Request {
  const text = JSON.stringify(body);
  const query = signer.createSignedQueryString({ method: "POST", path, body: text });
  return new Request(`http://127.0.0.1${path}?${query}`, { method: "POST", body: text });
}

function rejectsWith(status: number, fn: () => unknown): void {
  assert.throws(fn, (error) => error instanceof PusherApiError && error.status === status);
}

Deno.test("handleHttpApiRequest() publishes one event per channel and answers {}", async () => {
  const { published, options } = setup();
  const res = await handleHttpApiRequest(
    signedRequest("/apps/42/events", { name: "e", channels: ["a", "b"], data: "{}" }),
    options,
  );
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), {});
  assert.deepEqual(published, [[
    { channel: "a", name: "e", data: "{}", socketId: undefined },
    { channel: "b", name: "e", data: "{}", socketId: undefined },
  ]]);
});

Deno.test("handleHttpApiRequest() publishes a batch in order and answers {}", async () => {
  const { published, options } = setup();
  const batch = [
    { channel: "a", name: "e1", data: "1" },
    { channel: "b", name: "e2", data: "2", socket_id: "1.2" },
  ];
  const res = await handleHttpApiRequest(signedRequest("/apps/42/batch_events", { batch }), options);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), {});
  assert.deepEqual(published[0]!.map((e) => [e.channel, e.name, e.socketId]), [
    ["a", "e1", undefined],
    ["b", "e2", "1.2"],
  ]);
});

Deno.test("handleHttpApiRequest() returns the info asked for", async () => {
  const { options } = setup();
  const events = await handleHttpApiRequest(
    signedRequest("/apps/42/events", {
      name: "e",
      channels: ["presence-a", "b"],
      data: "{}",
      info: "subscription_count,user_count",
    }),
    options,
  );
  assert.deepEqual(await events.json(), {
    channels: {
      "presence-a": { subscription_count: 10, user_count: 2 },
      b: { subscription_count: 1 },
    },
  });
  const batch = await handleHttpApiRequest(
    signedRequest("/apps/42/batch_events", {
      batch: [
        { channel: "a", name: "e", data: "1" },
        { channel: "bb", name: "e", data: "2", info: "subscription_count" },
      ],
    }),
    options,
  );
  assert.deepEqual(await batch.json(), { batch: [{}, { subscription_count: 2 }] });
});

Deno.test("handleHttpApiRequest() answers 401 for another secret and publishes nothing", async () => {
  const { published, options } = setup();
  const other = new Pusher({ ...APP, secret: "other", host: "127.0.0.1" });
  const res = await handleHttpApiRequest(
    signedRequest("/apps/42/events", { name: "e", channel: "a", data: "" }, other),
    options,
  );
  assert.equal(res.status, 401);
  assert.match((await res.json()).error, /Invalid signature/);
  assert.deepEqual(published, []);
});

Deno.test("handleHttpApiRequest() answers 404 for another app id and a foreign path", async () => {
  const { options } = setup();
  const wrongApp = await handleHttpApiRequest(
    signedRequest("/apps/43/events", { name: "e", channel: "a", data: "" }),
    options,
  );
  assert.equal(wrongApp.status, 404);
  const wrongPath = await handleHttpApiRequest(
    signedRequest("/apps/42/channels", {}),
    options,
  );
  assert.equal(wrongPath.status, 404);
  await wrongApp.body?.cancel();
  await wrongPath.body?.cancel();
});

Deno.test("handleHttpApiRequest() answers 405 for GET", async () => {
  const { options } = setup();
  const res = await handleHttpApiRequest(new Request("http://x/apps/42/events"), options);
  assert.equal(res.status, 405);
  await res.body?.cancel();
});

Deno.test("handleHttpApiRequest() answers 400 for a body that is not JSON", async () => {
  const { options } = setup();
  const body = "{nope";
  const query = pusher.createSignedQueryString({ method: "POST", path: "/apps/42/events", body });
  const res = await handleHttpApiRequest(
    new Request(`http://x/apps/42/events?${query}`, { method: "POST", body }),
    options,
  );
  assert.equal(res.status, 400);
  assert.deepEqual(await res.json(), { error: "Request body is not valid JSON" });
});

Deno.test("handleHttpApiRequest() answers 413 for a body over 256 KiB", async () => {
  const { options } = setup();
  const body = "x".repeat(256 * 1024 + 1);
  const res = await handleHttpApiRequest(
    new Request("http://x/apps/42/events", { method: "POST", body }),
    options,
  );
  assert.equal(res.status, 413);
  await res.body?.cancel();
});

Deno.test("parseEventsBody() accepts channel or channels and drops duplicate channels", () => {
  assert.deepEqual(parseEventsBody({ name: "e", channel: "a", data: "" }).events.length, 1);
  assert.deepEqual(
    parseEventsBody({ name: "e", channels: ["a", "a", "b"], data: "" }).events.map((e) => e.channel),
    ["a", "b"],
  );
});

Deno.test("parseEventsBody() rejects 101 channels with 400", () => {
  const channels = Array.from({ length: 101 }, (_, i) => `c${i}`);
  rejectsWith(400, () => parseEventsBody({ name: "e", channels, data: "" }));
  const hundred = channels.slice(0, 100);
  assert.equal(parseEventsBody({ name: "e", channels: hundred, data: "" }).events.length, 100);
});

Deno.test("parseEventsBody() rejects a missing channel, a bad channel name and empty channels", () => {
  rejectsWith(400, () => parseEventsBody({ name: "e", data: "" }));
  rejectsWith(400, () => parseEventsBody({ name: "e", channels: ["bad name"], data: "" }));
  rejectsWith(400, () => parseEventsBody({ name: "e", channels: [], data: "" }));
  rejectsWith(400, () => parseEventsBody([]));
});

Deno.test("parseBatchBody() rejects 11 events with 400 and accepts 10", () => {
  const event = { channel: "a", name: "e", data: "" };
  rejectsWith(400, () => parseBatchBody({ batch: Array(11).fill(event) }));
  assert.equal(parseBatchBody({ batch: Array(10).fill(event) }).events.length, 10);
  rejectsWith(400, () => parseBatchBody({}));
  rejectsWith(400, () => parseBatchBody({ batch: [null] }));
});

Deno.test("checkPublishEvent() rejects data over 10 KB with 413", () => {
  const event = { channel: "a", name: "e", data: "x".repeat(10 * 1024) };
  assert.equal(checkPublishEvent(event), event);
  rejectsWith(413, () => checkPublishEvent({ ...event, data: event.data + "x" }));
  rejectsWith(413, () => checkPublishEvent({ ...event, data: "é".repeat(5 * 1024 + 1) }));
});

Deno.test("checkPublishEvent() rejects bad names, non-string data and socket ids with 400", () => {
  const event = { channel: "a", name: "e", data: "" };
  rejectsWith(400, () => checkPublishEvent({ ...event, name: "" }));
  rejectsWith(400, () => checkPublishEvent({ ...event, name: "n".repeat(201) }));
  assert.equal(checkPublishEvent({ ...event, name: "n".repeat(200) }).name.length, 200);
  rejectsWith(400, () => checkPublishEvent({ ...event, data: { x: 1 } as unknown as string }));
  rejectsWith(400, () => checkPublishEvent({ ...event, socketId: "abc" }));
  rejectsWith(400, () => checkPublishEvent({ ...event, channel: "a".repeat(201) }));
});

Deno.test("parseEventsBody() rejects an unknown info attribute", () => {
  rejectsWith(400, () => parseEventsBody({ name: "e", channel: "a", data: "", info: "nope" }));
});

Deno.test("handleHttpApiRequest() stops reading a chunked body past the limit, before verifying it (413)", async () => {
  const { published, options } = setup();
  const chunk = new Uint8Array(64 * 1024).fill(0x61);
  let pulled = 0;
  let cancelled = false;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulled += chunk.length;
      if (pulled > 16 * 1024 * 1024) controller.close();
      else controller.enqueue(chunk);
    },
    cancel() {
      cancelled = true;
    },
  });
  // A stream has no Content-Length: the request is sent chunked.
  const req = new Request(`http://127.0.0.1/apps/42/events?auth_key=${APP.key}`, { method: "POST", body });
  assert.equal(req.headers.get("content-length"), null);
  const res = await handleHttpApiRequest(req, options);
  assert.equal(res.status, 413);
  assert.deepEqual(await res.json(), { error: "Request body too large" });
  assert.ok(pulled <= MAX_BODY_BYTES + 2 * chunk.length, `read ${pulled} bytes of a 16 MiB body`);
  assert.equal(cancelled, true, "the rest of the body is cancelled");
  assert.deepEqual(published, []);
});

Deno.test("handleHttpApiRequest() refuses a declared Content-Length over the limit without reading", async () => {
  const { options } = setup();
  let pulled = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulled++;
      controller.enqueue(new Uint8Array(1024));
    },
  });
  const req = new Request("http://127.0.0.1/apps/42/events", {
    method: "POST",
    body,
    headers: { "Content-Length": String(MAX_BODY_BYTES + 1) },
  });
  const res = await handleHttpApiRequest(req, options);
  assert.equal(res.status, 413);
  await res.body?.cancel();
  assert.ok(pulled <= 1, `pulled ${pulled} chunks`);
});

Deno.test("handleHttpApiRequest() terminates a user's connections for npm:pusher's terminateUserConnections", async () => {
  const { published, terminated, options } = setup();
  const res = await handleHttpApiRequest(
    signedRequest("/apps/42/users/carol%40x/terminate_connections", {}),
    options,
  );
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), {});
  assert.deepEqual(terminated, ["carol@x"]);
  assert.deepEqual(published, []);
  const forged = signedRequest(
    "/apps/42/users/dave/terminate_connections",
    {},
    new Pusher({ ...APP, secret: "not-the-secret", host: "127.0.0.1" }),
  );
  assert.equal((await handleHttpApiRequest(forged, options)).status, 401);
  assert.deepEqual(terminated, ["carol@x"]);
});
