import assert from "node:assert/strict";
import { createHash, createHmac } from "node:crypto";
import PusherServer from "pusher";
// The worker build of pusher-js runs on the global WebSocket, as in a browser.
import * as pusherJs from "pusher-js/worker/index.js";
import type { Channel, PresenceChannel } from "pusher-js/worker/index.js";
import { createGateway } from "./gateway.ts";
import type { GatewayOptions, WebhookEvent } from "./gateway_api.ts";
import { gatewayRoutes } from "./routes.ts";
import { signChannelAuth } from "./signature.ts";
import { closeEventOf, type RawSocket, rawSocket, socketIdOf } from "../test/support/raw_socket.ts";

// Deno types this CommonJS default export as the whole module; at runtime it is the class.
const PusherClient = pusherJs.default as unknown as typeof pusherJs.default.default;
type PusherClient = pusherJs.default;

const APP = { appId: "app-1", key: "app-key", secret: "app-secret" };
const WAIT_MS = 3000;

interface User {
  id: string;
  info?: Record<string, unknown>;
}

/** A gateway behind a real HTTP server, plus the real Pusher libraries pointed at it. */
function startServer(options: Partial<GatewayOptions> = {}) {
  const webhooks: WebhookEvent[] = [];
  const gateway = createGateway({
    ...APP,
    onWebhook: (events) => void webhooks.push(...events),
    ...options,
  });
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen: () => {} },
    gatewayRoutes(gateway, APP.key, APP.appId).fetch,
  );
  const port = server.addr.port;
  const serverLib = (overrides: Partial<typeof APP> = {}) =>
    new PusherServer({ ...APP, ...overrides, host: "127.0.0.1", port: String(port), useTLS: false });
  const pusher = serverLib();
  const clients: PusherClient[] = [];
  const sockets: RawSocket[] = [];
  return {
    gateway,
    port,
    pusher,
    serverLib,
    webhooks,
    /** A pusher-js client that authorizes channels with npm:pusher, as the app's endpoint would. */
    client(user: User = { id: "u1" }, signer = pusher, key = APP.key): PusherClient {
      const client = new PusherClient(key, {
        cluster: "local",
        wsHost: "127.0.0.1",
        wsPort: port,
        forceTLS: false,
        enabledTransports: ["ws"],
        disableStats: true,
        channelAuthorization: {
          customHandler: ({ socketId, channelName }, callback) => {
            const presence = channelName.startsWith("presence-");
            callback(
              null,
              presence
                ? signer.authorizeChannel(socketId, channelName, {
                  user_id: user.id,
                  user_info: user.info,
                })
                : signer.authorizeChannel(socketId, channelName),
            );
          },
        },
      });
      clients.push(client);
      return client;
    },
    /** POSTs a raw body signed by npm:pusher, bypassing its client-side checks. */
    post(endpoint: "events" | "batch_events", body: unknown): Promise<Response> {
      const path = `/apps/${APP.appId}/${endpoint}`;
      const text = JSON.stringify(body);
      const query = pusher.createSignedQueryString({ method: "POST", path, body: text });
      return fetch(`http://127.0.0.1:${port}${path}?${query}`, { method: "POST", body: text });
    },
    /** Disconnects this pusher-js client when the test ends. */
    track(client: PusherClient): void {
      clients.push(client);
    },
    /** Sends a `pusher:subscribe` signed for `socketId`, bound to `userId` when one is given. */
    subscribeRaw(socket: RawSocket, socketId: string, channel: string, userId?: string): void {
      const channelData = channel.startsWith("presence-") || userId !== undefined
        ? JSON.stringify({ user_id: userId ?? "anonymous" })
        : undefined;
      const auth = signChannelAuth(APP, { socketId, channel, channelData });
      socket.send({ event: "pusher:subscribe", data: { channel, auth, channel_data: channelData } });
    },
    raw(path = `/app/${APP.key}?protocol=7`): RawSocket {
      const socket = rawSocket(`ws://127.0.0.1:${port}${path}`);
      sockets.push(socket);
      return socket;
    },
    async [Symbol.asyncDispose]() {
      for (const client of clients) client.disconnect();
      for (const socket of sockets) socket.ws.close();
      await Promise.all(sockets.map((socket) => socket.closed));
      await waitUntil(() => gateway.stats().connections === 0, "every socket to close");
      await gateway.close();
      await server.shutdown();
    },
  };
}

/** Resolves with the first value `bind` reports, or rejects after WAIT_MS. */
function nextEvent<T>(label: string, bind: (resolve: (value: T) => void) => void): Promise<T> {
  const { promise, resolve, reject } = Promise.withResolvers<T>();
  const timer = setTimeout(() => reject(new Error(`Timed out waiting for ${label}`)), WAIT_MS);
  bind(resolve);
  return promise.finally(() => clearTimeout(timer));
}

async function waitUntil(condition: () => boolean, label: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${label}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function connected(client: PusherClient): Promise<string> {
  return nextEvent("connected", (resolve) => {
    if (client.connection.state === "connected") resolve(client.connection.socket_id);
    client.connection.bind("connected", () => resolve(client.connection.socket_id));
  });
}

function subscribed<C extends Channel>(client: PusherClient, name: string): Promise<C> {
  const channel = client.subscribe(name) as C;
  return nextEvent(`subscription to ${name}`, (resolve) => {
    channel.bind("pusher:subscription_succeeded", () => resolve(channel));
  });
}

/** Collects every event of one name on a channel, with pusher-js metadata. */
function collect(channel: Channel, event: string) {
  const received: { data: unknown; userId?: string }[] = [];
  channel.bind(event, (data: unknown, metadata?: { user_id?: string }) => {
    received.push({ data, userId: metadata?.user_id });
  });
  return received;
}

/**
 * Sends a marker event to a channel and waits until every listed client saw it. Frames on one
 * socket arrive in order, so anything sent before the marker has arrived by then too.
 */
async function barrier(pusher: PusherServer, channelName: string, channels: Channel[]) {
  const marker = `marker-${crypto.randomUUID()}`;
  const seen = channels.map((channel) =>
    nextEvent(`marker on ${channel.name}`, (resolve) => channel.bind(marker, resolve))
  );
  await pusher.trigger(channelName, marker, {});
  await Promise.all(seen);
}

Deno.test("gateway delivers npm:pusher events to pusher-js on private and presence channels", async () => {
  await using t = startServer();
  const client = t.client();
  await connected(client);
  const names = ["private-room-1", "presence-room-1"];
  const channels = await Promise.all(names.map((name) => subscribed(client, name)));
  const received = channels.map((channel) => collect(channel, "new-message"));
  await t.pusher.trigger(names, "new-message", { text: "hi", n: 1 });
  await waitUntil(() => received.every((events) => events.length === 1), "two events");
  for (const events of received) assert.deepEqual(events[0]!.data, { text: "hi", n: 1 });
  assert.deepEqual(t.gateway.stats(), {
    connections: 1,
    channels: 2,
    subscriptions: 2,
    droppedSlowSockets: 0,
  });
});

Deno.test("gateway delivers every event of a triggerBatch in order", async () => {
  await using t = startServer();
  const client = t.client();
  const [a, b] = await Promise.all([subscribed(client, "private-a"), subscribed(client, "private-b")]);
  const order: string[] = [];
  for (const channel of [a!, b!]) {
    channel.bind("e", (data: { i: number }) => order.push(`${channel.name}:${data.i}`));
  }
  const batch = Array.from({ length: 10 }, (_, i) => ({
    channel: i % 2 ? "private-b" : "private-a",
    name: "e",
    data: { i },
  }));
  const expected = batch.map((event) => `${event.channel}:${event.data.i}`);
  const res = await t.pusher.triggerBatch(batch);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), {});
  await waitUntil(() => order.length === 10, "ten events");
  assert.deepEqual(order, expected);
});

Deno.test("gateway leaves out the socket named by socket_id", async () => {
  await using t = startServer();
  const [sender, other] = [t.client(), t.client({ id: "u2" })];
  const socketId = await connected(sender);
  const [senderChannel, otherChannel] = await Promise.all([
    subscribed(sender, "private-room-1"),
    subscribed(other, "private-room-1"),
  ]);
  const senderGot = collect(senderChannel!, "new-message");
  const otherGot = collect(otherChannel!, "new-message");
  await t.pusher.trigger("private-room-1", "new-message", { x: 1 }, { socket_id: socketId });
  await barrier(t.pusher, "private-room-1", [senderChannel!, otherChannel!]);
  assert.equal(senderGot.length, 0);
  assert.equal(otherGot.length, 1);
});

Deno.test("gateway.publish() delivers in-process and refuses invalid events before sending", async () => {
  await using t = startServer();
  const client = t.client();
  const socketId = await connected(client);
  const channel = await subscribed(client, "private-room-1");
  const received = collect(channel, "e");
  assert.throws(() =>
    t.gateway.publish([
      { channel: "private-room-1", name: "e", data: "1" },
      { channel: "private-room-1", name: "e", data: "x".repeat(10 * 1024 + 1) },
    ]), (error: Error & { status?: number }) => error.status === 413);
  t.gateway.publish([
    { channel: "private-room-1", name: "e", data: '{"n":2}', socketId },
    { channel: "private-room-1", name: "e", data: '{"n":3}' },
  ]);
  await waitUntil(() => received.length === 1, "one event");
  await barrier(t.pusher, "private-room-1", [channel]);
  assert.deepEqual(received.map((event) => event.data), [{ n: 3 }]);
});

Deno.test("gateway reports presence members: ids on join, member_added/removed once per user", async () => {
  await using t = startServer();
  const alice = t.client({ id: "alice", info: { name: "Alice" } });
  const aliceChannel = await subscribed<PresenceChannel>(alice, "presence-room-1");
  assert.deepEqual(aliceChannel.members.count, 1);
  assert.deepEqual(aliceChannel.members.me, { id: "alice", info: { name: "Alice" } });
  const added = collect(aliceChannel, "pusher:member_added");
  const removed = collect(aliceChannel, "pusher:member_removed");

  const bob1 = t.client({ id: "bob", info: { name: "Bob" } });
  const bob2 = t.client({ id: "bob", info: { name: "Bob" } });
  const bobChannel = await subscribed<PresenceChannel>(bob1, "presence-room-1");
  assert.deepEqual(Object.keys(bobChannel.members.members).sort(), ["alice", "bob"]);
  assert.equal(bobChannel.members.count, 2);
  await subscribed(bob2, "presence-room-1");
  await barrier(t.pusher, "presence-room-1", [aliceChannel]);
  assert.deepEqual(added.map((event) => event.data), [{ id: "bob", info: { name: "Bob" } }]);

  bob1.disconnect();
  await waitUntil(() => t.gateway.stats().connections === 2, "bob's first socket to close");
  await barrier(t.pusher, "presence-room-1", [aliceChannel]);
  assert.equal(removed.length, 0);
  bob2.disconnect();
  await waitUntil(() => removed.length === 1, "member_removed");
  assert.deepEqual(removed[0]!.data, { id: "bob", info: { name: "Bob" } });
  assert.equal(aliceChannel.members.count, 1);

  alice.disconnect();
  await waitUntil(() => t.gateway.stats().channels === 0, "the channel to empty");
  await t.gateway.close();
  assert.deepEqual(t.webhooks.map((w) => [w.name, w.user_id]), [
    ["channel_occupied", undefined],
    ["member_added", "alice"],
    ["member_added", "bob"],
    ["member_removed", "bob"],
    ["member_removed", "alice"],
    ["channel_vacated", undefined],
  ]);
});

Deno.test("gateway relays client events to the other subscribers only, with user_id on presence", async () => {
  await using t = startServer({ clientEvents: true });
  const alice = t.client({ id: "alice" });
  const bob = t.client({ id: "bob" });
  const aliceSocket = await connected(alice);
  const [alicePrivate, bobPrivate, alicePresence, bobPresence] = await Promise.all([
    subscribed(alice, "private-room-1"),
    subscribed(bob, "private-room-1"),
    subscribed(alice, "presence-room-1"),
    subscribed(bob, "presence-room-1"),
  ]);
  const echoed = collect(alicePrivate!, "client-typing");
  const echoedPresence = collect(alicePresence!, "client-typing");
  const bobGot = collect(bobPrivate!, "client-typing");
  const bobGotPresence = collect(bobPresence!, "client-typing");
  assert.equal(alicePrivate!.trigger("client-typing", { on: true }), true);
  assert.equal(alicePresence!.trigger("client-typing", { on: false }), true);
  await waitUntil(() => bobGot.length === 1 && bobGotPresence.length === 1, "client events");
  assert.deepEqual(bobGot[0], { data: { on: true }, userId: undefined });
  assert.deepEqual(bobGotPresence[0], { data: { on: false }, userId: "alice" });
  await barrier(t.pusher, "private-room-1", [alicePrivate!]);
  await barrier(t.pusher, "presence-room-1", [alicePresence!]);
  assert.equal(echoed.length + echoedPresence.length, 0);
  await t.gateway.close();
  const clientEvents = t.webhooks.filter((w) => w.name === "client_event");
  assert.deepEqual(clientEvents, [
    {
      name: "client_event",
      channel: "private-room-1",
      event: "client-typing",
      data: '{"on":true}',
      socket_id: aliceSocket,
    },
    {
      name: "client_event",
      channel: "presence-room-1",
      event: "client-typing",
      data: '{"on":false}',
      socket_id: aliceSocket,
      user_id: "alice",
    },
  ]);
});

Deno.test("gateway refuses public channels (this app has none)", async () => {
  await using t = startServer();
  const client = t.client();
  const channel = client.subscribe("room-1");
  const error = await nextEvent<{ type: string; status: number }>("subscription_error", (resolve) => {
    channel.bind("pusher:subscription_error", resolve);
  });
  assert.equal(error.status, 403);
  assert.equal(t.gateway.stats().subscriptions, 0);
});

Deno.test("gateway refuses client events on a channel the socket did not join", async () => {
  await using t = startServer({ clientEvents: true });
  const socket = t.raw();
  await socket.next(); // connection_established
  socket.send({ event: "client-typing", channel: "private-room-1", data: {} });
  assert.deepEqual(await socket.next(), {
    event: "pusher:error",
    data: { code: 4009, message: "Client event rejected - not subscribed to private-room-1" },
  });
});

Deno.test("gateway answers a bad auth signature with pusher:subscription_error", async () => {
  await using t = startServer();
  const forger = t.serverLib({ secret: "not-the-secret" });
  const client = t.client({ id: "u1" }, forger);
  const channel = client.subscribe("private-room-1");
  const error = await nextEvent<{ type: string; status: number }>("subscription_error", (resolve) => {
    channel.bind("pusher:subscription_error", resolve);
  });
  assert.equal(error.type, "AuthError");
  assert.equal(error.status, 401);
  const presence = client.subscribe("presence-room-1");
  const presenceError = await nextEvent<{ status: number }>("subscription_error", (resolve) => {
    presence.bind("pusher:subscription_error", resolve);
  });
  assert.equal(presenceError.status, 401);
  assert.equal(t.gateway.stats().subscriptions, 0);
});

Deno.test("gateway closes a connection for an unknown app key with 4001", async () => {
  await using t = startServer();
  const socket = t.raw("/app/wrong-key?protocol=7");
  const frame = await socket.next();
  assert.equal(frame.event, "pusher:error");
  assert.deepEqual((frame.data as { code: number }).code, 4001);
  assert.equal((await closeEventOf(socket)).code, 4001);

  const client = t.client({ id: "u1" }, t.pusher, "wrong-key");
  const error = await nextEvent<{ error: { data: { code: number } } }>("error", (resolve) => {
    client.connection.bind("error", resolve);
  });
  assert.equal(error.error.data.code, 4001);
  assert.equal(client.connection.state, "disconnected"); // refused: pusher-js does not retry

  const plain = await fetch(`http://127.0.0.1:${t.port}/app/wrong-key`);
  assert.equal(plain.status, 404);
  assert.deepEqual(await plain.json(), { error: "App key wrong-key does not exist" });
});

Deno.test("gateway closes a connection without protocol=7 with 4007 or 4008", async () => {
  await using t = startServer();
  const old = t.raw(`/app/${APP.key}?protocol=4`);
  assert.equal((await closeEventOf(old)).code, 4007);
  const none = t.raw(`/app/${APP.key}`);
  assert.equal((await closeEventOf(none)).code, 4008);
});

Deno.test("gateway closes connections over maxConnections with 4100", async () => {
  await using t = startServer({ maxConnections: 1 });
  const first = t.raw();
  assert.equal((await first.next()).event, "pusher:connection_established");
  const second = t.raw();
  assert.deepEqual((await second.next()).data, { code: 4100, message: "Over capacity" });
  assert.equal((await closeEventOf(second)).code, 4100);
});

Deno.test("gateway answers pusher:ping, malformed JSON and oversize frames", async () => {
  await using t = startServer();
  const socket = t.raw();
  const established = await socket.next();
  const data = JSON.parse(established.data as string);
  assert.match(data.socket_id, /^\d+\.\d+$/);
  assert.equal(data.activity_timeout, 120);
  socket.send({ event: "pusher:ping", data: {} });
  assert.deepEqual(await socket.next(), { event: "pusher:pong", data: "{}" });
  socket.send("{not json");
  assert.deepEqual(await socket.next(), {
    event: "pusher:error",
    data: { code: null, message: "Message is not valid JSON" },
  });
  socket.send({ event: "client-big", channel: "private-a", data: "x".repeat(10 * 1024) });
  assert.deepEqual(await socket.next(), {
    event: "pusher:error",
    data: { code: null, message: "Message exceeds 10240 bytes" },
  });
});

Deno.test("gateway pings a silent client and closes it with 4201 when no pong follows", async () => {
  await using t = startServer({ activityTimeoutSeconds: 0.2, pongTimeoutSeconds: 0.2 });
  const silent = t.raw();
  const established = await silent.next();
  assert.equal(JSON.parse(established.data as string).activity_timeout, 0.2);
  assert.deepEqual(await silent.next(), { event: "pusher:ping", data: "{}" });
  assert.equal((await closeEventOf(silent)).code, 4201);
});

Deno.test("gateway keeps a client that answers pings", async () => {
  await using t = startServer({ activityTimeoutSeconds: 0.2, pongTimeoutSeconds: 0.2 });
  const socket = t.raw();
  await socket.next();
  for (let i = 0; i < 3; i++) {
    assert.equal((await socket.next()).event, "pusher:ping");
    socket.send({ event: "pusher:pong", data: {} });
  }
  assert.equal(socket.ws.readyState, WebSocket.OPEN);
});

Deno.test("gateway drops a socket whose send buffer is over maxBufferedBytes", async () => {
  await using t = startServer({ maxBufferedBytes: 0 });
  const socket = t.raw();
  t.subscribeRaw(socket, await socketIdOf(socket), "private-room-1");
  assert.equal((await socket.next()).event, "pusher_internal:subscription_succeeded");
  // The first send is still buffered when the second one checks: the socket is dropped.
  t.gateway.publish([
    { channel: "private-room-1", name: "e", data: "1" },
    { channel: "private-room-1", name: "e", data: "2" },
  ]);
  assert.equal((await closeEventOf(socket)).code, 4100);
  assert.equal(t.gateway.stats().droppedSlowSockets, 1);
});

Deno.test("gateway.close() closes every socket with 4200", async () => {
  await using t = startServer();
  const socket = t.raw();
  await socket.next();
  await t.gateway.close();
  assert.equal((await closeEventOf(socket)).code, 4200);
  assert.equal(t.gateway.stats().connections, 0);
});

Deno.test("HTTP API answers 401 for a bad signature and a stale timestamp", async () => {
  await using t = startServer();
  const forger = t.serverLib({ secret: "not-the-secret" });
  await assert.rejects(
    forger.trigger("room-1", "e", {}),
    (error: { status: number }) => error.status === 401,
  );
  const body = JSON.stringify({ name: "e", channel: "room-1", data: "{}" });
  const path = `/apps/${APP.appId}/events`;
  const stale = String(Math.floor(Date.now() / 1000) - 601);
  const query = `auth_key=${APP.key}&auth_timestamp=${stale}&auth_version=1.0` +
    `&body_md5=${createHash("md5").update(body).digest("hex")}`;
  const signature = createHmac("sha256", APP.secret).update(`POST\n${path}\n${query}`).digest(
    "hex",
  );
  const res = await fetch(`http://127.0.0.1:${t.port}${path}?${query}&auth_signature=${signature}`, {
    method: "POST",
    body,
  });
  assert.equal(res.status, 401);
  assert.match((await res.json()).error, /Timestamp expired/);
  const fresh = query.replace(stale, String(Math.floor(Date.now() / 1000)));
  const freshSignature = createHmac("sha256", APP.secret).update(`POST\n${path}\n${fresh}`)
    .digest("hex");
  const ok = await fetch(`http://127.0.0.1:${t.port}${path}?${fresh}&auth_signature=${freshSignature}`, {
    method: "POST",
    body,
  });
  assert.equal(ok.status, 200);
  await ok.body?.cancel();
});

Deno.test("HTTP API answers 413 for data over 10 KB", async () => {
  await using t = startServer();
  await assert.rejects(
    t.pusher.trigger("room-1", "e", "x".repeat(10 * 1024 + 1)),
    (error: { status: number }) => error.status === 413,
  );
});

Deno.test("HTTP API answers 400 for 101 channels, 11 batch events and a bad channel name", async () => {
  await using t = startServer();
  const channels = Array.from({ length: 101 }, (_, i) => `room-${i}`);
  const tooMany = await t.post("events", { name: "e", channels, data: "{}" });
  assert.equal(tooMany.status, 400);
  assert.deepEqual(await tooMany.json(), { error: "Cannot trigger on more than 100 channels" });
  const batch = Array.from({ length: 11 }, () => ({ channel: "room-1", name: "e", data: {} }));
  await assert.rejects(
    t.pusher.triggerBatch(batch),
    (error: { status: number }) => error.status === 400,
  );
  const badName = await t.post("events", { name: "e", channels: ["bad name!"], data: "{}" });
  assert.equal(badName.status, 400);
  assert.match((await badName.json()).error, /Invalid channel name/);
});

Deno.test("HTTP API answers 404 for another app id and returns info when asked", async () => {
  await using t = startServer();
  await assert.rejects(
    t.serverLib({ appId: "other-app" }).trigger("room-1", "e", {}),
    (error: { status: number }) => error.status === 404,
  );
  const client = t.client({ id: "alice" });
  await subscribed(client, "presence-room-1");
  const res = await t.pusher.trigger("presence-room-1", "e", {}, {
    info: "subscription_count,user_count",
  });
  assert.deepEqual(await res.json(), {
    channels: { "presence-room-1": { subscription_count: 1, user_count: 1 } },
  });
});

/** A clock the test moves by hand. */
function manualClock(start = 1_000_000) {
  let now = start;
  return { now: () => now, tick: (ms: number) => void (now += ms) };
}

function userSignin(socketId: string, user: Record<string, unknown>) {
  const userData = JSON.stringify(user);
  const signature = createHmac("sha256", APP.secret).update(`${socketId}::user::${userData}`).digest("hex");
  return { event: "pusher:signin", data: { auth: `${APP.key}:${signature}`, user_data: userData } };
}

/** A raw socket subscribed to `channels` (signed for `userId` when given), with its socket id. */
async function subscribedRaw(
  t: ReturnType<typeof startServer>,
  channels: string[],
  userId?: string,
): Promise<RawSocket & { id: string }> {
  const socket = t.raw();
  const id = await socketIdOf(socket);
  for (const channel of channels) {
    t.subscribeRaw(socket, id, channel, userId);
    await socket.nextMatching(
      (f) => f.event === "pusher_internal:subscription_succeeded",
      `${channel} joined`,
    );
  }
  return Object.assign(socket, { id });
}

Deno.test("gateway gives each connection an unguessable socket id: a signature for a predicted id admits nobody", async () => {
  await using t = startServer();
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) ids.push(await socketIdOf(t.raw()));
  for (const id of ids) assert.match(id, /^\d+\.\d+$/);
  assert.equal(new Set(ids).size, 5);
  assert.ok(new Set(ids.map((id) => id.split(".")[0])).size > 1, `ids share a prefix: ${ids}`);
  const [prefix, counter] = ids.at(-1)!.split(".");
  const predicted = `${prefix}.${Number(counter) + 1}`;
  const next = t.raw();
  const nextId = await socketIdOf(next);
  assert.notEqual(nextId, predicted);
  const auth = signChannelAuth(APP, { socketId: predicted, channel: "private-room-1" });
  next.send({ event: "pusher:subscribe", data: { channel: "private-room-1", auth } });
  const refused = await next.next();
  assert.equal(refused.event, "pusher:subscription_error");
  assert.equal(t.gateway.stats().subscriptions, 0);
});

Deno.test("gateway.revokeUser() drops the user's subscriptions to the named channels on every socket at once", async () => {
  await using t = startServer({ clientEvents: true });
  const carol = await subscribedRaw(t, ["private-room-1", "presence-room-1", "private-user-carol"], "carol");
  const carolPhone = await subscribedRaw(t, ["private-room-1"], "carol");
  const alice = await subscribedRaw(t, ["private-room-1", "presence-room-1"], "alice");
  const server = await subscribedRaw(t, ["private-room-1"]); // signed without a user: nobody's

  for (const socket of [carol, carolPhone, alice]) await socket.roundTrip(); // presence frames so far

  assert.equal(t.gateway.revokeUser("carol", ["private-room-1", "presence-room-1"]), 3);
  const left = await alice.nextMatching(
    (f) => f.event === "pusher_internal:member_removed",
    "member_removed",
  );
  assert.deepEqual(JSON.parse(left.data as string), { user_id: "carol" });

  t.gateway.publish([{ channel: "private-room-1", name: "new-message", data: '{"n":1}' }]);
  t.gateway.publish([{ channel: "private-user-carol", name: "notification", data: '{"n":2}' }]);
  for (const socket of [alice, server]) {
    await socket.nextMatching((f) => f.event === "new-message", "the message, to those still subscribed");
  }
  const carolGot = await carol.roundTrip();
  assert.deepEqual(carolGot.map((f) => [f.event, f.channel]), [["notification", "private-user-carol"]]);
  assert.deepEqual(await carolPhone.roundTrip(), []);

  // Her client events on the room stop too: the socket is no longer subscribed.
  carol.send({ event: "client-typing", channel: "private-room-1", data: {} });
  const refused = await carol.next();
  assert.equal(refused.event, "pusher:error");
  assert.equal((refused.data as { code: number }).code, 4009);
  assert.deepEqual((await alice.roundTrip()).filter((f) => f.event === "client-typing"), []);
  assert.equal(
    t.gateway.revokeUser("carol", ["private-room-1", "presence-room-1"]),
    0,
    "revoking again is a no-op",
  );
  await t.gateway.close();
  assert.ok(t.webhooks.some((w) => w.name === "member_removed" && w.user_id === "carol"));
});

Deno.test("gateway relays no client events unless clientEvents is on", async () => {
  await using t = startServer();
  const alice = await subscribedRaw(t, ["private-room-1"], "alice");
  const bob = await subscribedRaw(t, ["private-room-1"], "bob");
  alice.send({ event: "client-typing", channel: "private-room-1", data: { on: true } });
  const refused = await alice.next();
  assert.equal(refused.event, "pusher:error");
  assert.equal((refused.data as { code: number }).code, 4301);
  assert.match((refused.data as { message: string }).message, /disabled/);
  assert.deepEqual(await bob.roundTrip(), []);
  await t.gateway.close();
  assert.equal(t.webhooks.filter((w) => w.name === "client_event").length, 0);
});

Deno.test("gateway relays at most 10 client events per second per connection", async () => {
  const clock = manualClock();
  await using t = startServer({ clientEvents: true, now: clock.now });
  const alice = await subscribedRaw(t, ["private-room-1"], "alice");
  const bob = await subscribedRaw(t, ["private-room-1"], "bob");
  for (let i = 0; i < 25; i++) alice.send({ event: "client-n", channel: "private-room-1", data: { i } });
  const aliceGot = await alice.roundTrip();
  const relayed = (await bob.roundTrip()).filter((f) => f.event === "client-n");
  assert.deepEqual(relayed.map((f) => JSON.parse(f.data as string).i), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(aliceGot.map((f) => (f.data as { code: number }).code), [4301], "one error per second");
  assert.equal(alice.ws.readyState, WebSocket.OPEN);
  clock.tick(1000);
  alice.send({ event: "client-n", channel: "private-room-1", data: { i: 25 } });
  await alice.roundTrip();
  assert.deepEqual((await bob.roundTrip()).map((f) => JSON.parse(f.data as string).i), [25]);
});

Deno.test("gateway closes a connection that sends a frame over 16 KiB with 1009, text or binary", async () => {
  await using t = startServer();
  const fits = t.raw();
  await socketIdOf(fits);
  // Up to 16 KiB a frame is answered (over 10 KiB with pusher:error), and the socket stays.
  fits.send(JSON.stringify({ event: "pusher:ping", data: "x".repeat(16 * 1024 - 40) }));
  assert.deepEqual(await fits.next(), {
    event: "pusher:error",
    data: { code: null, message: "Message exceeds 10240 bytes" },
  });
  assert.deepEqual(await fits.roundTrip(), []);
  for (const frame of ["x".repeat(2 * 1024 * 1024), new Uint8Array(2 * 1024 * 1024)]) {
    const socket = t.raw();
    await socketIdOf(socket);
    socket.send(frame);
    const closed = await closeEventOf(socket);
    assert.equal(closed.code, 1009);
  }
  await waitUntil(() => t.gateway.stats().connections === 1, "the oversized sockets to be released");
});

Deno.test("gateway caps connections per address and subscriptions per connection", async () => {
  await using t = startServer({ maxConnectionsPerIp: 2, maxSubscriptionsPerConnection: 2 });
  const first = t.raw();
  const second = t.raw();
  const [id] = await Promise.all([socketIdOf(first), socketIdOf(second)]);
  const third = t.raw();
  assert.deepEqual((await third.next()).data, {
    code: 4100,
    message: "Too many connections from this address",
  });
  assert.equal((await closeEventOf(third)).code, 4100);

  for (const channel of ["private-a", "private-b", "private-c"]) t.subscribeRaw(first, id!, channel);
  const answers = [await first.next(), await first.next(), await first.next()];
  assert.deepEqual(answers.map((f) => f.event), [
    "pusher_internal:subscription_succeeded",
    "pusher_internal:subscription_succeeded",
    "pusher:subscription_error",
  ]);
  assert.equal((answers[2]!.data as { status: number }).status, 429);
  assert.equal(t.gateway.stats().subscriptions, 2);

  second.ws.close();
  await second.closed;
  await waitUntil(() => t.gateway.stats().connections === 1, "the second socket to be released");
  assert.match(await socketIdOf(t.raw()), /^\d+\.\d+$/, "a freed slot admits a new connection");
});

Deno.test("gateway signs a socket in with pusher:signin and terminate_connections closes the user's sockets", async () => {
  await using t = startServer();
  const carol = t.raw();
  const carolId = await socketIdOf(carol);
  carol.send(userSignin(carolId, { id: "carol", user_info: { name: "Carol" } }));
  const signedIn = await carol.next();
  assert.equal(signedIn.event, "pusher:signin_success");
  assert.equal(JSON.parse(signedIn.data as string).user_data, '{"id":"carol","user_info":{"name":"Carol"}}');
  // pusher-js subscribes to the user's own server-to-user channel after signing in.
  carol.send({ event: "pusher:subscribe", data: { channel: "#server-to-user-carol" } });
  assert.equal((await carol.next()).event, "pusher_internal:subscription_succeeded");
  carol.send({ event: "pusher:subscribe", data: { channel: "#server-to-user-alice" } });
  assert.equal((await carol.next()).event, "pusher:subscription_error");

  const forged = t.raw();
  const forgedId = await socketIdOf(forged);
  forged.send(userSignin(carolId, { id: "carol" })); // signed for another socket
  const error = await forged.next();
  assert.equal(error.event, "pusher:error");
  assert.equal((error.data as { code: number }).code, 4009);

  // A pusher-js client signed in through its userAuthentication handler.
  const client = new PusherClient(APP.key, {
    cluster: "local",
    wsHost: "127.0.0.1",
    wsPort: t.port,
    forceTLS: false,
    enabledTransports: ["ws"],
    disableStats: true,
    userAuthentication: {
      customHandler: ({ socketId }, callback) =>
        callback(null, t.pusher.authenticateUser(socketId, { id: "carol" })),
    } as ConstructorParameters<typeof PusherClient>[1]["userAuthentication"],
  });
  t.track(client);
  const firstSocket = await connected(client);
  const success = nextEvent(
    "pusher:signin_success",
    (resolve) => client.bind("pusher:signin_success", resolve),
  );
  client.signin();
  await success;
  const bystander = t.raw();
  await socketIdOf(bystander);
  forged.send(userSignin(forgedId, { id: "dave" }));
  assert.equal((await forged.next()).event, "pusher:signin_success");

  const res = await t.pusher.terminateUserConnections("carol");
  assert.equal(res.status, 200);
  await res.text();
  assert.equal((await closeEventOf(carol)).code, 4200);
  // pusher-js reconnects at once (4200 means "reconnect now") on a new socket id.
  await waitUntil(
    () => client.connection.state === "connected" && client.connection.socket_id !== firstSocket,
    "pusher-js to reconnect",
  );
  assert.deepEqual(await bystander.roundTrip(), []);
  assert.deepEqual(await forged.roundTrip(), [], "another user's socket stays");
  const forger = t.serverLib({ secret: "not-the-secret" });
  await assert.rejects(forger.terminateUserConnections("dave"), (e: { status: number }) => e.status === 401);
});

Deno.test("gateway refuses a user's signature issued before their revocation, and one older than 5 minutes", async () => {
  const clock = manualClock(Date.UTC(2026, 10, 25));
  await using t = startServer({ now: clock.now });
  const socket = t.raw();
  const id = await socketIdOf(socket);
  const signed = (channel: string, issuedAt: number) => {
    const channelData = JSON.stringify({ user_id: "carol", issued_at: issuedAt });
    return {
      channel,
      auth: signChannelAuth(APP, { socketId: id, channel, channelData }),
      channel_data: channelData,
    };
  };
  const early = signed("private-room-1", clock.now());
  socket.send({ event: "pusher:subscribe", data: early });
  assert.equal((await socket.next()).event, "pusher_internal:subscription_succeeded");
  clock.tick(10);
  assert.equal(t.gateway.revokeUser("carol", ["private-room-1"]), 1);
  socket.send({ event: "pusher:subscribe", data: early });
  const refused = await socket.next();
  assert.equal(refused.event, "pusher:subscription_error");
  assert.equal((refused.data as { status: number }).status, 403);
  clock.tick(10);
  socket.send({ event: "pusher:subscribe", data: signed("private-room-1", clock.now()) });
  assert.equal(
    (await socket.next()).event,
    "pusher_internal:subscription_succeeded",
    "a fresh signature works",
  );

  const stale = signed("private-room-2", clock.now());
  clock.tick(5 * 60_000 + 1);
  socket.send({ event: "pusher:subscribe", data: stale });
  const expired = await socket.next();
  assert.equal(expired.event, "pusher:subscription_error");
  assert.equal((expired.data as { status: number }).status, 401);
});
