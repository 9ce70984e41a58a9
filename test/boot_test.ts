/**
 * Boot-time safety of `main.ts` as a real process: settings that are never safe stop it
 * with a one-line reason, and settings that are unsafe but allowed are said loudly.
 */
import assert from "node:assert/strict";
import { startServer } from "./support/server_process.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

/** Runs `main.ts` with `env` and expects it to exit at once; resolves with its code and output. */
async function bootFails(env: Record<string, string>): Promise<{ code: number; stderr: string }> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN],
    env: { PORT: "0", NO_COLOR: "1", KV_PATH: ":memory:", ...env },
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(20_000),
  }).output();
  const out = new TextDecoder().decode(stdout);
  assert.doesNotMatch(out, /listening on/, "the server must not start");
  return { code, stderr: new TextDecoder().decode(stderr) };
}

Deno.test("main.ts refuses demo mode on Deno Deploy unless DEMO=1, with a one-line reason", async () => {
  const { code, stderr } = await bootFails({ DENO_DEPLOYMENT_ID: "test-deployment" });
  assert.equal(code, 1);
  assert.match(stderr, /^durable-chat: bad configuration: .*DEMO=1.*\n$/);
});

Deno.test("main.ts refuses AUTH_JWKS_URL without AUTH_AUDIENCE", async () => {
  const { code, stderr } = await bootFails({ AUTH_JWKS_URL: "https://id.example/.well-known/jwks.json" });
  assert.equal(code, 1);
  assert.match(stderr, /AUTH_AUDIENCE/);
});

Deno.test("main.ts warns loudly at boot when DEV_LOGIN=1 runs beside a real secret", async () => {
  const dir = await Deno.makeTempDir({ prefix: "durable-chat-boot-" });
  try {
    await using server = await startServer({
      KV_PATH: `${dir}/chat.kv`,
      AUTH_JWT_SECRET: "boot-test-secret-0123456789abcdefghij",
      DEV_LOGIN: "1",
    });
    assert.match(server.output(), /WARNING: DEV_LOGIN=1: .*any user id to anyone/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("main.ts says at boot on Deno Deploy without PUSHER_* that realtime goes through Pusher Channels", async () => {
  const dir = await Deno.makeTempDir({ prefix: "durable-chat-boot-" });
  try {
    await using server = await startServer({
      DENO_DEPLOYMENT_ID: "boot-test-deployment",
      KV_PATH: `${dir}/chat.kv`,
      AUTH_JWT_SECRET: "boot-test-secret-0123456789abcdefghij",
    });
    assert.match(
      server.output(),
      /WARNING: Deno Deploy without PUSHER_\*: realtime on Deno Deploy goes through Pusher Channels/,
    );
    assert.match(server.output(), /Set PUSHER_APP_ID, PUSHER_KEY, PUSHER_SECRET and PUSHER_CLUSTER/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task start, with the permissions it grants, serves the API and the gateway over a KV file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "durable-chat-boot-" });
  try {
    await using server = await startServer({ KV_PATH: `${dir}/chat.kv` }, 30_000, { task: "start" });
    const health = await fetch(`${server.url}/healthz`);
    assert.equal(health.status, 200, server.output());
    await health.body?.cancel();
    const token = await server.login("alice");
    const config = await (await fetch(`${server.url}/api/realtime/config`, {
      headers: { Authorization: `Bearer ${token}` },
    })).json();
    const socket = new WebSocket(`${server.url.replace("http", "ws")}/app/${config.key}?protocol=7`);
    const first = await new Promise<string>((resolve, reject) => {
      socket.onmessage = (event) => resolve(String(event.data));
      socket.onerror = () => reject(new Error(`no WebSocket:\n${server.output()}`));
    });
    socket.close();
    assert.match(first, /pusher:connection_established/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task dev grants what deno task start does, and watches", async () => {
  const { tasks } = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));
  assert.equal(tasks.dev, tasks.start.replace("deno run ", "deno run --watch "));
});
