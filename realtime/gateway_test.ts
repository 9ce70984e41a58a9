import assert from "node:assert/strict";
import { createHash, createHmac } from "node:crypto";
import PusherServer from "pusher";
// The worker build of pusher-js runs on the global WebSocket, as in a browser.
import * as pusherJs from "pusher-js/worker/index.js";
import type { Channel, PresenceChannel } from "pusher-js/worker/index.js";
import { createGateway, type GatewayOptions, type WebhookEvent } from "./gateway.ts";
import { gatewayRoutes } from "./routes.ts";

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

interface Frame {
  event: string;
  channel?: string;
  data?: unknown;
}

interface RawSocket {
  ws: WebSocket;
  next(): Promise<Frame>;
  send(frame: unknown): void;
  closed: Promise<CloseEvent>;
}

/** A bare WebSocket client, for what pusher-js hides (close codes, pings, raw errors). */
function rawSocket(url: string): RawSocket {
  const ws = new WebSocket(url);
  const frames: Frame[] = [];
  const waiting: ((frame: Frame) => void)[] = [];
  const closed = Promise.withResolvers<CloseEvent>();
  ws.onmessage = (event) => {
    const frame = JSON.parse(event.data);
    const waiter = waiting.shift();
    if (waiter) waiter(frame);
    else frames.push(frame);
  };
  ws.onclose = (event) => closed.resolve(event);
  return {
    ws,
    next: () => {
      const frame = frames.shift();
      if (frame) return Promise.resolve(frame);
      return nextEvent("a frame", (resolve) => waiting.push(resolve));
    },
    send: (frame) => ws.send(typeof frame === "string" ? frame : JSON.stringify(frame)),
    closed: closed.promise,
  };
}

function timeoutCloseEvent(socket: RawSocket): Promise<CloseEvent> {
  return nextEvent("close", (resolve) => void socket.closed.then(resolve));
}

Deno.test("gateway delivers npm:pusher events to pusher-js on public, private and presence channels", async () => {
  await using t = startServer();
  const client = t.client();
  await connected(client);
  const names = ["room-1", "private-room-1", "presence-room-1"];
  const channels = await Promise.all(names.map((name) => subscribed(client, name)));
  const received = channels.map((channel) => collect(channel, "new-message"));
  await t.pusher.trigger(names, "new-message", { text: "hi", n: 1 });
  await waitUntil(() => received.every((events) => events.length === 1), "three events");
  for (const events of received) assert.deepEqual(events[0]!.data, { text: "hi", n: 1 });
  assert.deepEqual(t.gateway.stats(), {
    connections: 1,
    channels: 3,
    subscriptions: 3,
    droppedSlowSockets: 0,
  });
});

Deno.test("gateway delivers every event of a triggerBatch in order", async () => {
  await using t = startServer();
  const client = t.client();
  const [a, b] = await Promise.all([subscribed(client, "room-a"), subscribed(client, "room-b")]);
  const order: string[] = [];
  for (const channel of [a!, b!]) {
    channel.bind("e", (data: { i: number }) => order.push(`${channel.name}:${data.i}`));
  }
  const batch = Array.from({ length: 10 }, (_, i) => ({
    channel: i % 2 ? "room-b" : "room-a",
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
  const channel = await subscribed(client, "room-1");
  const received = collect(channel, "e");
  assert.throws(() =>
    t.gateway.publish([
      { channel: "room-1", name: "e", data: "1" },
      { channel: "room-1", name: "e", data: "x".repeat(10 * 1024 + 1) },
    ]), (error: Error & { status?: number }) => error.status === 413);
  t.gateway.publish([
    { channel: "room-1", name: "e", data: '{"n":2}', socketId },
    { channel: "room-1", name: "e", data: '{"n":3}' },
  ]);
  await waitUntil(() => received.length === 1, "one event");
  await barrier(t.pusher, "room-1", [channel]);
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
  await using t = startServer();
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

Deno.test("gateway refuses client events on public channels with pusher:error 4301", async () => {
  await using t = startServer();
  const alice = t.client();
  const bob = t.client({ id: "u2" });
  const [aliceChannel, bobChannel] = await Promise.all([
    subscribed(alice, "room-1"),
    subscribed(bob, "room-1"),
  ]);
  const bobGot = collect(bobChannel!, "client-typing");
  const error = nextEvent<{ data: { code: number } }>("pusher:error", (resolve) => {
    alice.connection.bind("error", resolve);
  });
  aliceChannel!.trigger("client-typing", {});
  assert.equal((await error).data.code, 4301);
  await barrier(t.pusher, "room-1", [bobChannel!]);
  assert.equal(bobGot.length, 0);
});

Deno.test("gateway refuses client events on a channel the socket did not join", async () => {
  await using t = startServer();
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
  assert.equal((await timeoutCloseEvent(socket)).code, 4001);

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
  assert.equal((await timeoutCloseEvent(old)).code, 4007);
  const none = t.raw(`/app/${APP.key}`);
  assert.equal((await timeoutCloseEvent(none)).code, 4008);
});

Deno.test("gateway closes connections over maxConnections with 4100", async () => {
  await using t = startServer({ maxConnections: 1 });
  const first = t.raw();
  assert.equal((await first.next()).event, "pusher:connection_established");
  const second = t.raw();
  assert.deepEqual((await second.next()).data, { code: 4100, message: "Over capacity" });
  assert.equal((await timeoutCloseEvent(second)).code, 4100);
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
  assert.equal((await timeoutCloseEvent(silent)).code, 4201);
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
  await socket.next();
  socket.send({ event: "pusher:subscribe", data: { channel: "room-1" } });
  assert.equal((await socket.next()).event, "pusher_internal:subscription_succeeded");
  // The first send is still buffered when the second one checks: the socket is dropped.
  t.gateway.publish([
    { channel: "room-1", name: "e", data: "1" },
    { channel: "room-1", name: "e", data: "2" },
  ]);
  assert.equal((await timeoutCloseEvent(socket)).code, 4100);
  assert.equal(t.gateway.stats().droppedSlowSockets, 1);
});

Deno.test("gateway.close() closes every socket with 4200", async () => {
  await using t = startServer();
  const socket = t.raw();
  await socket.next();
  await t.gateway.close();
  assert.equal((await timeoutCloseEvent(socket)).code, 4200);
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
