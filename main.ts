/** @module Entry point: configuration → KV → services → HTTP server, and a clean SIGTERM. */
import { ConfigError, loadConfig } from "./config.ts";
import { createRuntime } from "./runtime.ts";
import { isRemoteKv, openKv } from "./storage/kv.ts";

let config;
try {
  config = loadConfig(Deno.env.toObject());
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(`durable-chat: bad configuration: ${err.message}`);
  Deno.exit(1);
}
for (const warning of config.warnings) console.warn(`durable-chat: WARNING: ${warning}`);

const kv = await openKv(config.kvPath);
const runtime = await createRuntime(config, kv);
const server = Deno.serve({
  port: config.port,
  reusePort: config.reusePort,
  onListen: ({ hostname, port }) => {
    const host = hostname === "0.0.0.0" ? "localhost" : hostname;
    const base = `http://${host}:${port}`;
    runtime.start({ port });
    console.log(`durable-chat listening on ${base}`);
    console.log(`KV store: ${describeKv(config.kvPath)}`);
    if (runtime.demoMode) {
      console.log(
        "Demo mode: AUTH_JWT_SECRET is unset, so a generated secret signs tokens and /api/dev/login is on.",
      );
      console.log(
        `Get a token: curl -s -X POST ${base}/api/dev/login -H 'Content-Type: application/json' -d '{"userId":"alice","name":"Alice"}'`,
      );
    }
  },
}, runtime.app.fetch);

async function stop(signal: Deno.Signal): Promise<void> {
  console.log(`${signal}: finishing in-flight work`);
  const shutdown = server.shutdown(); // stops accepting; in-flight requests finish
  await runtime.close(); // closes gateway sockets, finishes commits, stops the outbox watcher
  await shutdown;
  kv.close();
  Deno.exit(0);
}
Deno.addSignalListener("SIGTERM", () => stop("SIGTERM"));
Deno.addSignalListener("SIGINT", () => stop("SIGINT"));

function describeKv(path: string | undefined): string {
  if (path === undefined) return "Deno Deploy's default KV";
  if (path === ":memory:") return "in memory (nothing is kept after exit)";
  if (isRemoteKv(path)) return `KV Connect at ${path}`;
  return path.startsWith("/") ? path : `${Deno.cwd()}/${path.replace(/^\.\//, "")}`;
}
