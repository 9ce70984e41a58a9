/**
 * @module A real server for outbox and realtime tests: `createRuntime` over a
 * fresh KV file, `Deno.serve` on port 0, and the runtime started on that port
 * (so the watcher runs and the embedded gateway is published to).
 */
import { loadConfig } from "../../config.ts";
import { createRuntime, type Runtime, type RuntimeOptions } from "../../runtime.ts";
import { openKv } from "../../storage/kv.ts";
import { authorized, json, testEnv } from "../helpers.ts";

/** A served runtime and request helpers. */
export interface OutboxServer extends AsyncDisposable {
  runtime: Runtime;
  kv: Deno.Kv;
  kvPath: string;
  url: string;
  port: number;
  login(userId: string, name?: string, avatar?: string): Promise<string>;
  /** Calls the API over HTTP as `userId` (logged in on first use), with a JSON body when given. */
  api(userId: string, method: string, path: string, body?: unknown): Promise<Response>;
  /** Calls the API and returns the JSON of a 200, or throws with the status and body. */
  ok<T = Record<string, unknown>>(userId: string, method: string, path: string, body?: unknown): Promise<T>;
}

/** Fast retries for tests: 50 ms, 100 ms, 200 ms …, 4 attempts. */
export const FAST_RETRY: RuntimeOptions["outbox"] = {
  retry: { baseMs: 50, maxMs: 400, maxAttempts: 4 },
  timeoutMs: 1000,
  sweepIntervalMs: 500,
  wakeDelayMs: 200,
};

/** Pusher-mode environment that publishes to a recorder instead of the embedded gateway. */
export function pusherAt(port: number): Record<string, string> {
  return {
    PUSHER_HOST: "127.0.0.1",
    PUSHER_PORT: String(port),
    PUSHER_USE_TLS: "false",
    PUSHER_APP_ID: "app-1",
    PUSHER_KEY: "app-key",
    PUSHER_SECRET: "app-secret",
  };
}

/**
 * Starts a server with `env` (demo mode, no rate limit unless set) and `options`.
 * With `kvPath` it opens that file (another server's, e.g. to restart after an
 * outage) and leaves it in place when disposed; otherwise a fresh file that goes with it.
 */
export async function startOutboxServer(
  env: Record<string, string> = {},
  options: RuntimeOptions & {
    kvPath?: string;
    /** Sees every HTTP request the server gets (before the app answers it). */
    observe?: (req: Request) => void;
  } = {},
): Promise<OutboxServer> {
  const dir = options.kvPath === undefined
    ? await Deno.makeTempDir({ prefix: "durable-chat-outbox-" })
    : null;
  const kvPath = options.kvPath ?? `${dir}/chat.kv`;
  const config = loadConfig(testEnv(kvPath, env));
  const kv = await openKv(config.kvPath);
  const runtime = await createRuntime(config, kv, options);
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen: () => {} },
    (req, info) => {
      options.observe?.(req);
      return runtime.app.fetch(req, info);
    },
  ) as Deno.HttpServer<Deno.NetAddr>;
  const port = server.addr.port;
  runtime.start({ port });
  const url = `http://127.0.0.1:${port}`;
  const tokens = new Map<string, string>();
  const login = async (
    userId: string,
    name = userId[0]!.toUpperCase() + userId.slice(1),
    avatar?: string,
  ) => {
    const res = await fetch(
      `${url}/api/dev/login`,
      json("POST", { userId, name, ...(avatar ? { avatar } : {}) }),
    );
    if (res.status !== 200) throw new Error(`login ${userId}: ${res.status} ${await res.text()}`);
    const { token } = await res.json();
    tokens.set(userId, token);
    return token as string;
  };
  const api = async (userId: string, method: string, path: string, body?: unknown) => {
    const token = tokens.get(userId) ?? await login(userId);
    return await fetch(`${url}${path}`, authorized(token, method, body));
  };
  return {
    runtime,
    kv,
    kvPath,
    url,
    port,
    login,
    api,
    async ok<T>(userId: string, method: string, path: string, body?: unknown) {
      const res = await api(userId, method, path, body);
      const text = await res.text();
      if (res.status !== 200) throw new Error(`${method} ${path}: ${res.status} ${text}`);
      return JSON.parse(text) as T;
    },
    async [Symbol.asyncDispose]() {
      const shutdown = server.shutdown();
      await runtime.close();
      await shutdown;
      kv.close();
      await runtime.watcher.listening;
      if (dir !== null) await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Resolves once `condition` holds (polled), or rejects after `timeoutMs`. */
export async function eventually(
  condition: () => boolean | Promise<boolean>,
  label: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${label}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
