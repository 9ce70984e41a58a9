/**
 * @module The client SDK (client/mod.ts) against a real server with the unmodified pusher-js:
 * ordered exactly-once delivery through a dropped socket and a server restart, a send whose
 * answer is lost, and a token that expired. The network is a TCP proxy that fails on demand.
 */
import assert from "node:assert/strict";
import { SignJWT } from "jose";
import { ChatApiError, type ChatClient, createChatClient, type Message } from "../client/mod.ts";
import { eventually, FAST_RETRY, startOutboxServer } from "./support/outbox_harness.ts";
import { type ServerProcess, startServer } from "./support/server_process.ts";
import { startTcpProxy } from "./support/tcp_proxy.ts";

const WAIT_MS = 45_000;

/** Collects what a listener is given. */
function listen(chat: ChatClient, roomId: string, afterSeq?: number) {
  const got: Message[] = [];
  const errors: unknown[] = [];
  const ended: ChatApiError[] = [];
  const started = Promise.withResolvers<number>();
  const stop = chat.onMessage(roomId, (m) => got.push(m), {
    ...(afterSeq === undefined ? {} : { afterSeq }),
    onError: (e) => errors.push(e),
    onEnd: (e) => ended.push(e),
    onStart: started.resolve,
  });
  const until = (n: number, label: string) =>
    eventually(() => got.length >= n, `${label} (${got.length}/${n})`, WAIT_MS);
  return { got, errors, ended, stop, until, started: started.promise };
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** Waits until the server has published every event committed so far (to nobody, if the client is cut off). */
function outboxDrained(url: string): Promise<void> {
  return eventually(
    async () => {
      const { outbox } = await (await fetch(`${url}/healthz`)).json();
      return outbox.pending === 0 && outbox.retrying === 0;
    },
    "the outbox to drain",
    WAIT_MS,
  );
}

Deno.test("onMessage delivers every message once, in seq order, through a dropped socket", async () => {
  await using t = await startOutboxServer({}, { outbox: FAST_RETRY });
  await using proxy = startTcpProxy(t.port);
  const send = (i: number) =>
    t.ok<{ message: Message }>("alice", "POST", "/api/chat/send", { receiverId: "bob", content: `m${i}` });
  const bob = createChatClient({ baseUrl: proxy.url, token: await t.login("bob") });
  try {
    const { roomId } = (await send(1)).message;
    const feed = listen(bob, roomId, 0);
    await feed.until(1, "the history");
    for (const i of range(2, 5)) await send(i);
    await feed.until(5, "live messages");
    const sockets = proxy.count("GET /app/");

    proxy.cut(); // the socket drops; reconnecting fails until resume()
    for (const i of range(6, 15)) await send(i);
    await outboxDrained(t.url); // their events went out while bob was away: only pages can bring them
    proxy.resume();
    await feed.until(15, "the messages sent while disconnected");
    for (const i of range(16, 20)) await send(i);
    await feed.until(20, "live messages after the reconnect");

    assert.ok(proxy.count("GET /app/") > sockets, "pusher-js never reconnected");
    assert.deepEqual(feed.got.map((m) => m.seq), range(1, 20));
    assert.deepEqual(feed.got.map((m) => m.content), range(1, 20).map((i) => `m${i}`));
    assert.deepEqual(feed.errors, []);
  } finally {
    bob.close();
  }
});

Deno.test("onMessage delivers every message once, in seq order, across a server killed and restarted on its KV file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "durable-chat-sdk-restart-" });
  const env = { KV_PATH: `${dir}/chat.kv`, RATE_LIMIT_SEND_PER_MIN: "0", RATE_LIMIT_WRITE_PER_MIN: "0" };
  let server: ServerProcess = await startServer(env);
  const proxy = startTcpProxy(server.port);
  // Tokens outlive the process: demo mode keeps its signing secret in KV.
  const alice = await server.login("alice");
  const bob = createChatClient({ baseUrl: proxy.url, token: await server.login("bob") });
  const send = async (i: number) => {
    const res = await fetch(`${server.url}/api/chat/send`, {
      method: "POST",
      headers: { Authorization: `Bearer ${alice}`, "Content-Type": "application/json" },
      body: JSON.stringify({ receiverId: "bob", content: `m${i}` }),
    });
    assert.equal(res.status, 200, await res.clone().text());
    return (await res.json()).message as Message;
  };
  try {
    const { roomId } = await send(1);
    const feed = listen(bob, roomId, 0);
    for (const i of range(2, 3)) await send(i);
    await feed.until(3, "live messages");
    for (const i of range(4, 5)) await send(i); // committed; their events may never go out

    proxy.cut();
    assert.equal(await server.stop("SIGKILL"), 137);
    server = await startServer(env);
    proxy.retarget(server.port);
    for (const i of range(6, 12)) await send(i); // while bob is disconnected
    await outboxDrained(server.url);
    proxy.resume();
    await feed.until(12, "the messages of both processes");
    for (const i of range(13, 15)) await send(i);
    await feed.until(15, "live messages from the restarted server");

    assert.deepEqual(feed.got.map((m) => m.seq), range(1, 15));
    assert.deepEqual(feed.got.map((m) => m.content), range(1, 15).map((i) => `m${i}`));
    assert.deepEqual(feed.errors, []);
  } finally {
    bob.close();
    await proxy[Symbol.asyncDispose]();
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("onMessage without afterSeq starts after the room's last message; a room never joined ends it with 404", async () => {
  await using t = await startOutboxServer({}, { outbox: FAST_RETRY });
  const send = (from: string, to: string, content: string) =>
    t.ok<{ message: Message }>(from, "POST", "/api/chat/send", { receiverId: to, content });
  const bob = createChatClient({ baseUrl: t.url, token: await t.login("bob") });
  await t.login("carol");
  try {
    const { roomId } = (await send("alice", "bob", "old 1")).message;
    await send("alice", "bob", "old 2");
    const feed = listen(bob, roomId);
    assert.equal(await feed.started, 2);
    await send("alice", "bob", "new");
    await feed.until(1, "the new message");
    const other = (await send("alice", "carol", "not for bob")).message.roomId;
    for (const afterSeq of [undefined, 0]) {
      const stranger = listen(bob, other, afterSeq);
      await eventually(() => stranger.ended.length > 0, "the refusal", WAIT_MS);
      assert.equal(stranger.ended[0]?.status, 404);
      assert.deepEqual(stranger.got, []);
    }
    assert.deepEqual(feed.got.map((m) => [m.seq, m.content]), [[3, "new"]]);
  } finally {
    bob.close();
  }
});

Deno.test("send() retries a send whose answer was lost with the same clientMessageId: it is stored once", async () => {
  await using t = await startOutboxServer({}, { outbox: FAST_RETRY });
  await using proxy = startTcpProxy(t.port);
  await t.login("bob");
  const alice = createChatClient({
    baseUrl: proxy.url,
    token: await t.login("alice"),
    retry: { baseDelayMs: 50 },
  });
  try {
    const lost = proxy.loseNextAnswer("POST /api/chat/send");
    const { message } = await alice.send({ receiverId: "bob", content: "exactly once" });
    await lost;
    assert.equal(proxy.count("POST /api/chat/send"), 2, "the send was not tried twice");
    const page = await t.ok<{ messages: Message[] }>(
      "bob",
      "GET",
      `/api/chat/messages?roomId=${message.roomId}&afterSeq=0`,
    );
    assert.deepEqual(page.messages.map((m) => [m.id, m.content, m.clientMessageId]), [
      [message.id, "exactly once", message.clientMessageId],
    ]);
  } finally {
    alice.close();
  }
});

Deno.test("send() holds sends while the server is unreachable and stores each once, in order, when it is back", async () => {
  await using t = await startOutboxServer({}, { outbox: FAST_RETRY });
  await using proxy = startTcpProxy(t.port);
  await t.login("bob");
  const alice = createChatClient({
    baseUrl: proxy.url,
    token: await t.login("alice"),
    retry: { baseDelayMs: 50, maxDelayMs: 500 },
  });
  try {
    const { message: first } = await alice.send({ receiverId: "bob", content: "before" });
    proxy.cut();
    const refusedBefore = proxy.refused();
    const settled = Promise.allSettled(
      range(1, 5).map((i) => alice.send({ roomId: first.roomId, content: `offline ${i}` })),
    );
    await eventually(() => proxy.refused() >= refusedBefore + 3, "three failed attempts", WAIT_MS);
    assert.equal(proxy.count("POST /api/chat/send"), 1, "a send got through the cut");
    proxy.resume();
    const results = await settled;
    assert.deepEqual(results.map((r) => r.status), range(1, 5).map(() => "fulfilled"));
    const page = await t.ok<{ messages: Message[] }>(
      "bob",
      "GET",
      `/api/chat/messages?roomId=${first.roomId}&afterSeq=0`,
    );
    assert.deepEqual(page.messages.map((m) => [m.seq, m.content]), [
      [1, "before"],
      ...range(1, 5).map((i) => [i + 1, `offline ${i}`]),
    ]);
  } finally {
    alice.close();
  }
});

Deno.test("a 401 asks token() again once and retries the call: REST, sends and realtime", async () => {
  const secret = "a-secret-for-the-token-refresh-test-0123456789";
  await using t = await startOutboxServer({ AUTH_JWT_SECRET: secret }, { outbox: FAST_RETRY });
  const sign = (sub: string, expiresAt: number) =>
    new SignJWT({ name: sub }).setProtectedHeader({ alg: "HS256" }).setSubject(sub).setExpirationTime(
      expiresAt,
    )
      .sign(new TextEncoder().encode(secret));
  const now = Math.floor(Date.now() / 1000);
  /** A token function that first gives an expired token, then fresh ones; counts its calls. */
  const expiringFor = (sub: string) => {
    const source = {
      asked: 0,
      token: async () => await sign(sub, source.asked++ === 0 ? now - 5 : now + 600),
    };
    return source;
  };
  const alice = expiringFor("alice");
  const bob = expiringFor("bob");
  const aliceChat = createChatClient({ baseUrl: t.url, token: alice.token });
  const bobChat = createChatClient({ baseUrl: t.url, token: bob.token });
  try {
    await bobChat.me(); // bob exists once he made an authenticated request
    assert.equal(bob.asked, 2);
    const { message } = await aliceChat.send({ receiverId: "bob", content: "after a refresh" });
    assert.equal(alice.asked, 2, "the expired token was not replaced exactly once");
    await aliceChat.rooms();
    assert.equal(alice.asked, 2, "a working token was asked for again");

    const realtime = expiringFor("bob");
    const listener = createChatClient({ baseUrl: t.url, token: realtime.token });
    try {
      const feed = listen(listener, message.roomId, 0);
      await feed.until(1, "the history, through a refreshed token");
      await aliceChat.send({ roomId: message.roomId, content: "live" });
      await feed.until(2, "a live message");
      assert.equal(realtime.asked, 2);
    } finally {
      listener.close();
    }

    let asked = 0;
    const stuck = createChatClient({ baseUrl: t.url, token: () => (asked++, sign("alice", now - 5)) });
    const fixed = createChatClient({ baseUrl: t.url, token: await sign("alice", now - 5) });
    try {
      await assert.rejects(stuck.rooms(), (e) => e instanceof ChatApiError && e.status === 401);
      assert.equal(asked, 2, "token() was not asked exactly once more");
      await assert.rejects(fixed.rooms(), (e) => e instanceof ChatApiError && e.status === 401);
    } finally {
      stuck.close();
      fixed.close();
    }
  } finally {
    aliceChat.close();
    bobChat.close();
  }
});
