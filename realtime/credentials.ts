/**
 * @module The Pusher app credentials: those configured, else generated once and
 * kept in KV, so that every process and restart of a deployment agrees on them.
 */
import { ensureSetting, randomSecret } from "../storage/settings.ts";

/** The app credentials shared by the publisher, the gateway and the auth endpoint. */
export interface PusherCredentials {
  appId: string;
  key: string;
  secret: string;
}

/**
 * The app credentials: those configured, and for the rest values generated
 * once and kept in KV, so every process and restart agrees on them.
 */
export async function resolvePusherCredentials(
  kv: Deno.Kv,
  configured: Partial<PusherCredentials>,
): Promise<PusherCredentials> {
  return {
    appId: configured.appId ??
      await ensureSetting(
        kv,
        "pusher_app_id",
        () => String(1_000_000 + Math.floor(Math.random() * 8_999_999)),
      ),
    key: configured.key ?? await ensureSetting(kv, "pusher_key", () => randomSecret(10)),
    secret: configured.secret ?? await ensureSetting(kv, "pusher_secret", () => randomSecret(32)),
  };
}
