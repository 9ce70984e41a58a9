/**
 * Online state is not sticky: what a server's own gateway reported expires
 * unless that server keeps renewing it, so the users of a server that was
 * killed (and never reported them leaving) go offline.
 */
import assert from "node:assert/strict";
// The worker build of pusher-js runs on the global WebSocket and fetch, as in a browser.
import * as pusherJs from "pusher-js/worker/index.js";
import { startServer } from "./support/server_process.ts";

// Deno types this CommonJS default export as the whole module; at runtime it is the class.
const PusherClient = pusherJs.default as unknown as typeof pusherJs.default.default;

async function onlineOf(url: string, token: string, userId: string): Promise<boolean> {
  const res = await fetch(`${url}/api/users/${userId}`, { headers: { Authorization: `Bearer ${token}` } });
  return (await res.json()).online;
}

async function until(what: string, condition: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return Date.now() - started;
}

Deno.test("a user connected to a server that is killed goes offline once the presence TTL passes; a live one stays online", async () => {
  const dir = await Deno.makeTempDir({ prefix: "durable-chat-presence-" });
  const env = {
    KV_PATH: `${dir}/chat.kv`,
    AUTH_JWT_SECRET: "p".repeat(40),
    DEV_LOGIN: "1",
    PRESENCE_TTL_SECONDS: "3",
  };
  const first = await startServer(env);
  const bobToken = await first.login("bob", "Bob");
  const aliceToken = await first.login("alice", "Alice");
  const config = await (await fetch(`${first.url}/api/realtime/config`, {
    headers: { Authorization: `Bearer ${bobToken}` },
  })).json();
  const client = new PusherClient(config.key, {
    ...config,
    disableStats: true,
    channelAuthorization: {
      endpoint: config.authEndpoint,
      transport: "ajax",
      headers: { Authorization: `Bearer ${bobToken}` },
    },
  });
  try {
    client.subscribe("private-user-bob");
    await until("bob online", () => onlineOf(first.url, aliceToken, "bob"), 5000);
    // Renewed while connected: still online well past one TTL.
    await new Promise((resolve) => setTimeout(resolve, 4500));
    assert.equal(await onlineOf(first.url, aliceToken, "bob"), true);

    await first.stop("SIGKILL"); // no channel_vacated ever reaches the store
    client.disconnect();
    await using second = await startServer(env);
    const waited = await until(
      "bob offline",
      async () => !(await onlineOf(second.url, aliceToken, "bob")),
      8000,
    );
    assert.ok(waited <= 4000, `offline ${waited} ms after the restart`);
  } finally {
    client.disconnect();
    await first.stop("SIGKILL");
    await Deno.remove(dir, { recursive: true });
  }
});
