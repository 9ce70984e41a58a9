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
  /**
   * Other writes per user per rolling minute, counted together (edits, deletes, reactions,
   * group creation, member/role/room changes, `/start`); 0 turns the limit off.
   */
  rateLimitWritePerMin: number;
  /** Fold concurrent commands into shared commits (off only to measure what it buys). */
  groupCommit: boolean;
  /** Send a hot room's sends to one process of the host (off only to measure what it buys). */
  hotRoomForwarding: boolean;
  /** Let several processes listen on `port` (Linux `SO_REUSEPORT`): the kernel spreads connections over them. */
  reusePort: boolean;
  /** How long the embedded gateway's report that a user is online lasts without renewal. */
  presenceTtlSeconds: number;
  pusherCredentials: PusherCredentials;
  realtime: RealtimeConfig;
  /** `["*"]` allows any origin. */
  corsOrigins: string[];
  oneSignal?: OneSignalConfig;
  /** The embedded gateway's client events switch and caps. */
  gateway: GatewayConfig;
  /** Largest attachment upload in bytes (`UPLOAD_MAX_BYTES`). */
  uploadMaxBytes: number;
  /** S3-compatible object storage for uploads; absent: uploads are stored in Deno KV. */
  s3?: S3Config;
  /** What the server must say loudly at boot (unsafe but allowed settings). */
  warnings: string[];
}

/** How the embedded gateway is limited (API.md, README's configuration table). */
export interface GatewayConfig {
  /** Relay `client-*` events (`PUSHER_CLIENT_EVENTS=1`), at most 10 per second per connection. */
  clientEvents: boolean;
  /** Open connections per process. */
  maxConnections: number;
  /** Open connections per remote address; 0 turns the cap off (e.g. behind a proxy). */
  maxConnectionsPerIp: number;
  /** Channels one connection may be subscribed to at once. */
  maxSubscriptionsPerConnection: number;
}

/** An S3-compatible bucket (AWS S3, Cloudflare R2, MinIO, …) that holds the uploads. */
export interface S3Config {
  endpoint: string;
  bucket: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** `https://endpoint/bucket/key` instead of `https://bucket.endpoint/key` (MinIO, s3rver). */
  forcePathStyle: boolean;
}

/** Thrown for a configuration value the server cannot run with. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

const DEFAULT_KV_PATH = "./data/chat.kv";
/** What the server says at boot on Deno Deploy without `PUSHER_*`: isolates cannot reach each other's sockets. */
export const DEPLOY_REALTIME_WARNING =
  "Deno Deploy without PUSHER_*: realtime on Deno Deploy goes through Pusher Channels. The embedded gateway " +
  "reaches only the clients connected to this isolate, so others miss events. Set PUSHER_APP_ID, PUSHER_KEY, " +
  "PUSHER_SECRET and PUSHER_CLUSTER (from your app's keys on dashboard.pusher.com) in the project's settings.";
/** Shortest `ADMIN_API_KEY` accepted: the key guards every admin route. */
export const MIN_ADMIN_API_KEY_LENGTH = 16;

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
  const warnings = demoWarnings(auth, read);
  const realtime: RealtimeConfig = pusherHost || pusherCluster
    ? {
      kind: "pusher",
      cluster: pusherCluster,
      host: pusherHost,
      port: optional(read("PUSHER_PORT"), (v) => readPort("PUSHER_PORT", v)),
      useTLS: flagVar(read, "PUSHER_USE_TLS", "true"),
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
  if (read("DENO_DEPLOYMENT_ID") && realtime.kind === "embedded") warnings.push(DEPLOY_REALTIME_WARNING);
  const devLogin = auth.kind === "demo" || flagVar(read, "DEV_LOGIN", "0");
  if (devLogin && auth.kind === "jwks") {
    throw new ConfigError("DEV_LOGIN needs AUTH_JWT_SECRET: tokens of a JWKS provider cannot be signed here");
  }
  if (devLogin && auth.kind === "hs256") {
    warnings.push(
      "DEV_LOGIN=1: POST /api/dev/login hands out a token for any user id to anyone who asks. " +
        "Never set it on a server real users reach.",
    );
  }
  return {
    port: readPort("PORT", read("PORT") ?? "8000"),
    kvPath: readKvPath(read),
    auth,
    devLogin,
    adminApiKey: readAdminApiKey(read("ADMIN_API_KEY")),
    rateLimitSendPerMin: integerVar(read, "RATE_LIMIT_SEND_PER_MIN", 10, 0, 1000),
    rateLimitWritePerMin: integerVar(read, "RATE_LIMIT_WRITE_PER_MIN", 60, 0, 100_000),
    groupCommit: flagVar(read, "GROUP_COMMIT", "on"),
    reusePort: flagVar(read, "REUSE_PORT", "0"),
    hotRoomForwarding: flagVar(read, "HOT_ROOM_FORWARDING", "on"),
    presenceTtlSeconds: integerVar(read, "PRESENCE_TTL_SECONDS", 90, 1, 86_400),
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
    gateway: readGateway(read),
    uploadMaxBytes: integerVar(read, "UPLOAD_MAX_BYTES", 10 * 1024 ** 2, 1, 5 * 1024 ** 3),
    s3: readS3(read),
    warnings,
  };
}

const S3_REQUIRED = ["S3_ENDPOINT", "S3_BUCKET", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY"] as const;

/** The S3 settings: all of `S3_REQUIRED` or none of them (`S3_REGION` defaults to `us-east-1`). */
function readS3(read: (name: string) => string | undefined): S3Config | undefined {
  const given = S3_REQUIRED.filter((name) => read(name) !== undefined);
  if (given.length === 0) {
    if (read("S3_REGION") || read("S3_FORCE_PATH_STYLE")) {
      throw new ConfigError(`S3_REGION and S3_FORCE_PATH_STYLE need ${S3_REQUIRED.join(", ")}`);
    }
    return undefined;
  }
  const missing = S3_REQUIRED.filter((name) => read(name) === undefined);
  if (missing.length > 0) throw new ConfigError(`S3 storage needs ${missing.join(", ")} as well`);
  return {
    endpoint: readUrl("S3_ENDPOINT", read("S3_ENDPOINT")!).href.replace(/\/$/, ""),
    bucket: read("S3_BUCKET")!,
    region: read("S3_REGION") ?? "us-east-1",
    accessKeyId: read("S3_ACCESS_KEY_ID")!,
    secretAccessKey: read("S3_SECRET_ACCESS_KEY")!,
    forcePathStyle: flagVar(read, "S3_FORCE_PATH_STYLE", "false"),
  };
}

function readGateway(read: (name: string) => string | undefined): GatewayConfig {
  return {
    clientEvents: flagVar(read, "PUSHER_CLIENT_EVENTS", "0"),
    maxConnections: integerVar(read, "GATEWAY_MAX_CONNECTIONS", 10000, 1, 1e6),
    maxConnectionsPerIp: integerVar(read, "GATEWAY_MAX_CONNECTIONS_PER_IP", 100, 0, 1e6),
    maxSubscriptionsPerConnection: integerVar(read, "GATEWAY_MAX_SUBSCRIPTIONS", 100, 1, 10_000),
  };
}

/**
 * Demo mode is the default on a laptop only: on Deno Deploy (`DENO_DEPLOYMENT_ID` set) it
 * needs `DEMO=1`. `DEMO=1` with auth configured, or `DEMO=0` without, contradict themselves.
 */
function demoWarnings(auth: AuthConfig, read: (name: string) => string | undefined): string[] {
  const demo = optional(read("DEMO"), (v) => readBoolean("DEMO", v));
  if (auth.kind !== "demo") {
    if (demo === true) {
      throw new ConfigError("DEMO=1 asks for demo mode, but AUTH_JWT_SECRET or AUTH_JWKS_URL is set");
    }
    return [];
  }
  if (demo === false) throw new ConfigError("DEMO=0 refuses demo mode: set AUTH_JWT_SECRET or AUTH_JWKS_URL");
  if (!read("DENO_DEPLOYMENT_ID")) return [];
  if (demo !== true) {
    throw new ConfigError(
      "no AUTH_JWT_SECRET or AUTH_JWKS_URL on Deno Deploy: refusing demo mode (anyone could log in as anyone); " +
        "set DEMO=1 to run it anyway",
    );
  }
  return [
    "DEMO=1 on Deno Deploy: demo mode is public, anyone can log in as any user through /api/dev/login.",
  ];
}

function readAdminApiKey(key: string | undefined): string | undefined {
  if (key !== undefined && key.length < MIN_ADMIN_API_KEY_LENGTH) {
    throw new ConfigError(`ADMIN_API_KEY must be at least ${MIN_ADMIN_API_KEY_LENGTH} characters`);
  }
  return key;
}

function readAuth(read: (name: string) => string | undefined): AuthConfig {
  const secret = read("AUTH_JWT_SECRET");
  const jwks = read("AUTH_JWKS_URL");
  const issuer = read("AUTH_ISSUER");
  const audience = read("AUTH_AUDIENCE");
  if (jwks) {
    // Without an audience, a token the same provider minted for any other app would log in.
    if (!audience) {
      throw new ConfigError("AUTH_JWKS_URL needs AUTH_AUDIENCE (the audience your tokens carry)");
    }
    return { kind: "jwks", jwksUrl: readUrl("AUTH_JWKS_URL", jwks), issuer, audience };
  }
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

/** An integer variable in `[min, max]`, `fallback` when unset. */
function integerVar(
  read: (name: string) => string | undefined,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  return readInteger(name, read(name) ?? String(fallback), min, max);
}

/** A boolean variable (`1`/`0`, `true`/`false`, `on`/`off`), `fallback` when unset. */
function flagVar(read: (name: string) => string | undefined, name: string, fallback: string): boolean {
  return readBoolean(name, read(name) ?? fallback);
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
