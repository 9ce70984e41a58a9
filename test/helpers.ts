/**
 * @module Test set-up shared by the HTTP tests: a fresh KV file and runtime
 * per test, dev-login tokens, and request builders for `app.request()`.
 */
import { loadConfig } from "../config.ts";
import { createRuntime, type Runtime } from "../runtime.ts";
import { openKv } from "../storage/kv.ts";

/** One test's server: the app over its own KV, and request helpers. */
export interface TestContext extends AsyncDisposable {
  runtime: Runtime;
  kv: Deno.Kv;
  kvPath: string;
  /** Sends a request to the app in-process. */
  request(path: string, init?: RequestInit): Promise<Response>;
  /** A bearer token for `userId` (created through `POST /api/dev/login`). */
  login(userId: string, name?: string): Promise<string>;
  /** Calls the API as `userId`, with a JSON body when one is given. */
  api(userId: string, method: string, path: string, body?: unknown): Promise<Response>;
}

/**
 * Starts the app over a fresh temporary KV file with the given environment.
 *
 * @example
 * ```ts
 * await using t = await setup();
 * const res = await t.api("alice", "GET", "/api/chat/rooms");
 * ```
 */
export async function setup(env: Record<string, string> = {}): Promise<TestContext> {
  const dir = await Deno.makeTempDir({ prefix: "durable-chat-test-" });
  const kvPath = `${dir}/chat.kv`;
  const config = loadConfig(testEnv(kvPath, env));
  const kv = await openKv(config.kvPath);
  const runtime = await createRuntime(config, kv);
  const tokens = new Map<string, string>();
  const request = (path: string, init?: RequestInit) =>
    Promise.resolve(runtime.app.request(`http://localhost${path}`, init));
  const login = async (userId: string, name = capitalize(userId)) => {
    const res = await request("/api/dev/login", json("POST", { userId, name }));
    if (res.status !== 200) throw new Error(`login ${userId}: ${res.status} ${await res.text()}`);
    const { token } = await res.json();
    tokens.set(userId, token);
    return token as string;
  };
  return {
    runtime,
    kv,
    kvPath,
    request,
    login,
    async api(userId, method, path, body) {
      const token = tokens.get(userId) ?? await login(userId);
      return await request(path, authorized(token, method, body));
    },
    async [Symbol.asyncDispose]() {
      await runtime.close();
      kv.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** The environment of a test server over `kvPath`: no rate limits unless `env` sets them. */
export function testEnv(kvPath: string, env: Record<string, string> = {}): Record<string, string> {
  return { KV_PATH: kvPath, RATE_LIMIT_SEND_PER_MIN: "0", RATE_LIMIT_WRITE_PER_MIN: "0", ...env };
}

/** A request init as a signed-in client sends it: the bearer token, and a JSON body when given. */
export function authorized(token: string, method: string, body?: unknown): RequestInit {
  return { ...json(method, body), headers: { ...jsonHeaders(body), Authorization: `Bearer ${token}` } };
}

/** A request init with a JSON body (when given). */
export function json(method: string, body?: unknown): RequestInit {
  return {
    method,
    headers: jsonHeaders(body),
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  };
}

function jsonHeaders(body: unknown): Record<string, string> {
  return body === undefined ? {} : { "Content-Type": "application/json" };
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** Reads a JSON response after asserting its status, with the body in the failure message. */
export async function expectStatus<T = Record<string, unknown>>(res: Response, status: number): Promise<T> {
  const text = await res.text();
  if (res.status !== status) throw new Error(`expected ${status}, got ${res.status}: ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}
