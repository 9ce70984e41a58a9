/**
 * @module Several runtimes over one KV file in one test: how Deno Deploy's
 * isolates (or several server processes) sharing one store are simulated.
 * Each runtime has its own room actors, head cache and batcher.
 */
import { loadConfig } from "../../config.ts";
import { createRuntime, type Runtime, type RuntimeOptions } from "../../runtime.ts";
import { openKv, retryingCommits } from "../../storage/kv.ts";
import { authorized, json, testEnv } from "../helpers.ts";

/** One runtime of the group, with a caller that speaks HTTP to it in-process. */
export interface RuntimeHandle {
  runtime: Runtime;
  kv: Deno.Kv;
  /** Calls the API as `userId` (logged in once, through the first runtime). */
  api(userId: string, method: string, path: string, body?: unknown): Promise<Response>;
}

/** The runtimes over one KV file; disposing closes them all and removes the file. */
export interface RuntimeGroup extends AsyncDisposable {
  kvPath: string;
  runtimes: RuntimeHandle[];
}

/** How the runtimes are made, beyond their environment. */
export interface RuntimeGroupOptions {
  /**
   * Wraps each runtime's store under its commit retries, where a remote
   * transport sits (e.g. `faultyKv`, to lose commit answers).
   */
  wrapKv?: (kv: Deno.Kv) => Deno.Kv;
  runtime?: RuntimeOptions;
}

/**
 * Starts `count` runtimes over one fresh KV file with the same environment.
 *
 * @example
 * ```ts
 * await using group = await startRuntimes(2);
 * const [a, b] = group.runtimes;
 * await a.api("alice", "POST", "/api/chat/send", { receiverId: "bob", content: "hi" });
 * ```
 */
export async function startRuntimes(
  count: number,
  env: Record<string, string> = {},
  options: RuntimeGroupOptions = {},
): Promise<RuntimeGroup> {
  const dir = await Deno.makeTempDir({ prefix: "durable-chat-runtimes-" });
  const kvPath = `${dir}/chat.kv`;
  const config = loadConfig(testEnv(kvPath, env));
  const tokens = new Map<string, string>();
  const opened: { runtime: Runtime; kv: Deno.Kv }[] = [];
  for (let i = 0; i < count; i++) {
    const kv = options.wrapKv
      ? retryingCommits(options.wrapKv(await Deno.openKv(kvPath)))
      : await openKv(kvPath);
    opened.push({ runtime: await createRuntime(config, kv, options.runtime), kv });
  }
  const first = opened[0]!.runtime;
  const tokenOf = async (userId: string): Promise<string> => {
    const known = tokens.get(userId);
    if (known) return known;
    const name = userId.charAt(0).toUpperCase() + userId.slice(1);
    const res = await first.app.request("http://localhost/api/dev/login", json("POST", { userId, name }));
    if (res.status !== 200) throw new Error(`login ${userId}: ${res.status} ${await res.text()}`);
    const { token } = await res.json();
    tokens.set(userId, token);
    return token;
  };
  const runtimes = opened.map(({ runtime, kv }): RuntimeHandle => ({
    runtime,
    kv,
    async api(userId, method, path, body) {
      return await runtime.app.request(
        `http://localhost${path}`,
        authorized(await tokenOf(userId), method, body),
      );
    },
  }));
  return {
    kvPath,
    runtimes,
    async [Symbol.asyncDispose]() {
      for (const { runtime } of opened) await runtime.close();
      for (const { kv } of opened) kv.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}
