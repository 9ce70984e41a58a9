/**
 * @module Wires the parts together for one process: settings from KV, the
 * commit batcher, the room actors and the app. Used by `main.ts` and by tests.
 */
import { RoomActors } from "./actors/room_actor.ts";
import { type AppDeps, createApp } from "./app.ts";
import { createVerifier, signToken } from "./auth/jwt.ts";
import type { Config } from "./config.ts";
import { CommitBatcher } from "./storage/commit_batcher.ts";
import { ensureSetting, randomSecret } from "./storage/settings.ts";
import { UserStore } from "./storage/users.ts";

/** A running set of services over one KV store. */
export interface Runtime {
  app: ReturnType<typeof createApp>;
  actors: RoomActors;
  batcher: CommitBatcher;
  demoMode: boolean;
  /** Finishes the commits in flight. Does not close KV. */
  close(): Promise<void>;
}

/** Builds the services for `config` over `kv`. */
export async function createRuntime(config: Config, kv: Deno.Kv): Promise<Runtime> {
  const demoMode = config.auth.kind === "demo";
  const devSecret = config.auth.kind === "hs256"
    ? config.auth.secret
    : await ensureSetting(kv, "demo_jwt_secret", () => randomSecret());
  const users = new UserStore(kv);
  const batcher = new CommitBatcher(kv, { limits: { units: config.groupCommit ? Infinity : 1 } });
  const actors = new RoomActors(kv, {
    batcher,
    sendLimit: config.rateLimitSendPerMin,
    push: config.oneSignal !== undefined,
    maxBatch: config.groupCommit ? 64 : 1,
  });
  const deps: AppDeps = {
    kv,
    actors,
    users,
    verify: createVerifier(config.auth, devSecret),
    signDevToken: config.devLogin && config.auth.kind !== "jwks"
      ? (claims, ttl) => signToken(devSecret, claims, ttl)
      : undefined,
    adminApiKey: config.adminApiKey,
    corsOrigins: config.corsOrigins,
    health: {
      mode: demoMode ? "demo" : "production",
      kv: config.kvPath ?? "deno-deploy",
      realtime: config.realtime.kind,
      push: config.oneSignal ? "onesignal" : "disabled",
      outboxCounts: () => countOutbox(kv),
    },
  };
  return {
    app: createApp(deps),
    actors,
    batcher,
    demoMode,
    async close() {
      await actors.drain();
      await batcher.drain();
    },
  };
}

async function countOutbox(kv: Deno.Kv) {
  let pending = 0;
  for await (const _ of kv.list({ prefix: ["outbox"] }, { limit: 10_000 })) pending++;
  return { pending, retrying: 0, dead: 0 };
}
