/**
 * @module Typed configuration read from the environment, with the defaults of API.md.
 * A bad value stops the server at boot with a one-line reason.
 */

/** How the server verifies client JWTs. */
export type AuthConfig =
  | { kind: "hs256"; secret: string; issuer?: string; audience?: string }
  | { kind: "jwks"; jwksUrl: URL; issuer?: string; audience?: string }
  | { kind: "demo" };

/** Where realtime events go: the embedded gateway on our own port, or a Pusher-protocol host. */
export type RealtimeConfig =
  | { kind: "embedded" }
  | { kind: "pusher"; cluster?: string; host?: string; port?: number; useTLS: boolean };

/** Pusher app credentials; missing ones are generated once and kept in KV. */
export interface PusherCredentials {
  appId?: string;
  key?: string;
  secret?: string;
}

/** OneSignal push settings, absent when push is disabled. */
export interface OneSignalConfig {
  appId: string;
  restApiKey: string;
  apiUrl?: string;
}

/** Everything the server reads from its environment. */
export interface Config {
  port: number;
  /** A file path, `:memory:`, a KV Connect URL, or undefined for `Deno.openKv()` (Deno Deploy). */
  kvPath?: string;
  auth: AuthConfig;
  devLogin: boolean;
  adminApiKey?: string;
  /** Sends per user per rolling minute; 0 turns the limit off. */
  rateLimitSendPerMin: number;
  /** Other writes (edits, deletes, reactions, group and member changes, `/start`) per user per rolling minute; 0: off. */
  rateLimitWritePerMin: number;
  /** Fold concurrent commands into shared commits (off only to measure what it buys). */
  groupCommit: boolean;
  /** How long the embedded gateway's report that a user is online lasts without renewal. */
  presenceTtlSeconds: number;
  pusherCredentials: PusherCredentials;
  realtime: RealtimeConfig;
  /** `["*"]` allows any origin. */
  corsOrigins: string[];
  oneSignal?: OneSignalConfig;
}

/** Thrown for a configuration value the server cannot run with. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

const DEFAULT_KV_PATH = "./data/chat.kv";

/**
 * Builds the configuration from an environment map.
 *
 * @example
 * ```ts
 * const config = loadConfig(Deno.env.toObject());
 * ```
 * @throws {ConfigError} when a variable holds a value the server cannot use.
 */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const read = (name: string) => {
    const value = env[name]?.trim();
    return value === "" ? undefined : value;
  };
  const pusherHost = read("PUSHER_HOST");
  const pusherCluster = read("PUSHER_CLUSTER");
  const oneSignalAppId = read("ONESIGNAL_APP_ID");
  const oneSignalKey = read("ONESIGNAL_REST_API_KEY");
  if (Boolean(oneSignalAppId) !== Boolean(oneSignalKey)) {
    throw new ConfigError(
      "ONESIGNAL_APP_ID and ONESIGNAL_REST_API_KEY must be set together",
    );
  }
  const auth = readAuth(read);
  const realtime: RealtimeConfig = pusherHost || pusherCluster
    ? {
      kind: "pusher",
      cluster: pusherCluster,
      host: pusherHost,
      port: optional(read("PUSHER_PORT"), (v) => readPort("PUSHER_PORT", v)),
      useTLS: readBoolean("PUSHER_USE_TLS", read("PUSHER_USE_TLS") ?? "true"),
    }
    : { kind: "embedded" };
  const pusherCredentials = {
    appId: read("PUSHER_APP_ID"),
    key: read("PUSHER_KEY"),
    secret: read("PUSHER_SECRET"),
  };
  if (
    realtime.kind === "pusher" &&
    !(pusherCredentials.appId && pusherCredentials.key && pusherCredentials.secret)
  ) {
    throw new ConfigError(
      "PUSHER_APP_ID, PUSHER_KEY and PUSHER_SECRET are required with PUSHER_CLUSTER or PUSHER_HOST",
    );
  }
  const devLogin = auth.kind === "demo" || readBoolean("DEV_LOGIN", read("DEV_LOGIN") ?? "0");
  if (devLogin && auth.kind === "jwks") {
    throw new ConfigError("DEV_LOGIN needs AUTH_JWT_SECRET: tokens of a JWKS provider cannot be signed here");
  }
  return {
    port: readPort("PORT", read("PORT") ?? "8000"),
    kvPath: readKvPath(read),
    auth,
    devLogin,
    adminApiKey: read("ADMIN_API_KEY"),
    rateLimitSendPerMin: readInteger(
      "RATE_LIMIT_SEND_PER_MIN",
      read("RATE_LIMIT_SEND_PER_MIN") ?? "10",
      0,
      1000,
    ),
    rateLimitWritePerMin: readInteger(
      "RATE_LIMIT_WRITE_PER_MIN",
      read("RATE_LIMIT_WRITE_PER_MIN") ?? "60",
      0,
      10_000,
    ),
    groupCommit: readBoolean("GROUP_COMMIT", read("GROUP_COMMIT") ?? "on"),
    presenceTtlSeconds: readInteger("PRESENCE_TTL_SECONDS", read("PRESENCE_TTL_SECONDS") ?? "90", 1, 86_400),
    pusherCredentials,
    realtime,
    corsOrigins: (read("CORS_ORIGINS") ?? "*").split(",").map((o) => o.trim()).filter(Boolean),
    oneSignal: oneSignalAppId && oneSignalKey
      ? {
        appId: oneSignalAppId,
        restApiKey: oneSignalKey,
        apiUrl: optional(read("ONESIGNAL_API_URL"), (v) => readUrl("ONESIGNAL_API_URL", v).href),
      }
      : undefined,
  };
}

function readAuth(read: (name: string) => string | undefined): AuthConfig {
  const secret = read("AUTH_JWT_SECRET");
  const jwks = read("AUTH_JWKS_URL");
  const issuer = read("AUTH_ISSUER");
  const audience = read("AUTH_AUDIENCE");
  if (jwks) return { kind: "jwks", jwksUrl: readUrl("AUTH_JWKS_URL", jwks), issuer, audience };
  if (secret) {
    if (new TextEncoder().encode(secret).length < 32) {
      throw new ConfigError("AUTH_JWT_SECRET must be at least 32 bytes for HS256");
    }
    return { kind: "hs256", secret, issuer, audience };
  }
  if (issuer || audience) {
    throw new ConfigError("AUTH_ISSUER and AUTH_AUDIENCE need AUTH_JWT_SECRET or AUTH_JWKS_URL");
  }
  return { kind: "demo" };
}

function readKvPath(read: (name: string) => string | undefined): string | undefined {
  const path = read("KV_PATH");
  if (path) return path;
  return read("DENO_DEPLOYMENT_ID") ? undefined : DEFAULT_KV_PATH;
}

function optional<T>(value: string | undefined, parse: (value: string) => T): T | undefined {
  return value === undefined ? undefined : parse(value);
}

function readInteger(name: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got "${value}"`);
  }
  return n;
}

function readPort(name: string, value: string): number {
  return readInteger(name, value, 0, 65535);
}

function readBoolean(name: string, value: string): boolean {
  const v = value.toLowerCase();
  if (["1", "true", "yes", "on"].includes(v)) return true;
  if (["0", "false", "no", "off"].includes(v)) return false;
  throw new ConfigError(`${name} must be true or false, got "${value}"`);
}

function readUrl(name: string, value: string): URL {
  if (!URL.canParse(value)) throw new ConfigError(`${name} must be a URL, got "${value}"`);
  const url = new URL(value);
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ConfigError(`${name} must be an http(s) URL, got "${value}"`);
  }
  return url;
}
