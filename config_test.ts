import assert from "node:assert/strict";
import { ConfigError, DEPLOY_REALTIME_WARNING, loadConfig } from "./config.ts";

const SECRET = "s".repeat(32);

Deno.test("loadConfig() with no environment is demo mode on port 8000 with a local KV file", () => {
  const config = loadConfig({});
  assert.equal(config.port, 8000);
  assert.equal(config.kvPath, "./data/chat.kv");
  assert.deepEqual(config.auth, { kind: "demo" });
  assert.equal(config.devLogin, true);
  assert.equal(config.rateLimitSendPerMin, 10);
  assert.equal(config.groupCommit, true);
  assert.deepEqual(config.realtime, { kind: "embedded" });
  assert.deepEqual(config.corsOrigins, ["*"]);
  assert.equal(config.oneSignal, undefined);
});

Deno.test("loadConfig() reads every documented variable", () => {
  const config = loadConfig({
    PORT: "9000",
    KV_PATH: ":memory:",
    AUTH_JWT_SECRET: SECRET,
    AUTH_ISSUER: "iss",
    AUTH_AUDIENCE: "aud",
    ADMIN_API_KEY: "admin-key-0123456789",
    RATE_LIMIT_SEND_PER_MIN: "30",
    GROUP_COMMIT: "off",
    PUSHER_APP_ID: "1",
    PUSHER_KEY: "k",
    PUSHER_SECRET: "s",
    PUSHER_HOST: "pusher.local",
    PUSHER_PORT: "6001",
    PUSHER_USE_TLS: "false",
    CORS_ORIGINS: "https://a.example, https://b.example",
    ONESIGNAL_APP_ID: "app",
    ONESIGNAL_REST_API_KEY: "key",
    ONESIGNAL_API_URL: "http://127.0.0.1:9999/api/v1",
  });
  assert.equal(config.port, 9000);
  assert.equal(config.kvPath, ":memory:");
  assert.deepEqual(config.auth, { kind: "hs256", secret: SECRET, issuer: "iss", audience: "aud" });
  assert.equal(config.devLogin, false);
  assert.equal(config.adminApiKey, "admin-key-0123456789");
  assert.equal(config.rateLimitSendPerMin, 30);
  assert.equal(config.groupCommit, false);
  assert.deepEqual(config.realtime, {
    kind: "pusher",
    cluster: undefined,
    host: "pusher.local",
    port: 6001,
    useTLS: false,
  });
  assert.deepEqual(config.corsOrigins, ["https://a.example", "https://b.example"]);
  assert.deepEqual(config.oneSignal, {
    appId: "app",
    restApiKey: "key",
    apiUrl: "http://127.0.0.1:9999/api/v1",
  });
});

Deno.test("loadConfig() leaves KV_PATH unset on Deno Deploy", () => {
  assert.equal(loadConfig({ DENO_DEPLOYMENT_ID: "abc", AUTH_JWT_SECRET: SECRET }).kvPath, undefined);
});

Deno.test("loadConfig() stops at a bad value with a one-line reason", () => {
  const bad: Record<string, string>[] = [
    { PORT: "http" },
    { PORT: "70000" },
    { RATE_LIMIT_SEND_PER_MIN: "-1" },
    { RATE_LIMIT_SEND_PER_MIN: "ten" },
    { AUTH_JWT_SECRET: "short" },
    { AUTH_JWKS_URL: "ftp://x" },
    { AUTH_ISSUER: "iss" },
    { AUTH_JWKS_URL: "https://id.example/jwks.json", AUTH_AUDIENCE: "chat", DEV_LOGIN: "1" },
    { PUSHER_CLUSTER: "eu" },
    { ONESIGNAL_APP_ID: "app" },
    { ONESIGNAL_APP_ID: "app", ONESIGNAL_REST_API_KEY: "k", ONESIGNAL_API_URL: "not a url" },
    { PUSHER_HOST: "h", PUSHER_APP_ID: "1", PUSHER_KEY: "k", PUSHER_SECRET: "s", PUSHER_USE_TLS: "maybe" },
  ];
  for (const env of bad) {
    assert.throws(
      () => loadConfig(env),
      (err) => err instanceof ConfigError && !err.message.includes("\n"),
      JSON.stringify(env),
    );
  }
});

Deno.test("loadConfig() reads RATE_LIMIT_WRITE_PER_MIN: 60 by default, 0 turns it off", () => {
  assert.equal(loadConfig({}).rateLimitWritePerMin, 60);
  assert.equal(loadConfig({ RATE_LIMIT_WRITE_PER_MIN: "0" }).rateLimitWritePerMin, 0);
  assert.equal(loadConfig({ RATE_LIMIT_WRITE_PER_MIN: "120" }).rateLimitWritePerMin, 120);
  for (const bad of ["-1", "many", "1.5", "100001"]) {
    assert.throws(() => loadConfig({ RATE_LIMIT_WRITE_PER_MIN: bad }), ConfigError, bad);
  }
});

Deno.test("loadConfig() refuses AUTH_JWKS_URL without AUTH_AUDIENCE", () => {
  assert.throws(
    () => loadConfig({ AUTH_JWKS_URL: "https://id.example/.well-known/jwks.json" }),
    (err) => err instanceof ConfigError && /AUTH_AUDIENCE/.test(err.message),
  );
  const config = loadConfig({
    AUTH_JWKS_URL: "https://id.example/.well-known/jwks.json",
    AUTH_AUDIENCE: "chat",
  });
  assert.equal(config.auth.kind, "jwks");
  assert.equal(config.auth.kind === "jwks" && config.auth.audience, "chat");
});

Deno.test("loadConfig() refuses demo mode on Deno Deploy unless DEMO=1", () => {
  assert.throws(
    () => loadConfig({ DENO_DEPLOYMENT_ID: "abc" }),
    (err) => err instanceof ConfigError && /DEMO=1/.test(err.message) && !err.message.includes("\n"),
  );
  assert.throws(() => loadConfig({ DENO_DEPLOYMENT_ID: "abc", DEMO: "0" }), ConfigError);
  const demo = loadConfig({ DENO_DEPLOYMENT_ID: "abc", DEMO: "1" });
  assert.deepEqual(demo.auth, { kind: "demo" });
  assert.equal(demo.kvPath, undefined);
  assert.ok(demo.warnings.some((w) => /demo mode/i.test(w) && /Deno Deploy/.test(w)), demo.warnings.join());
  const real = loadConfig({ DENO_DEPLOYMENT_ID: "abc", AUTH_JWT_SECRET: SECRET, ...PUSHER_CHANNELS });
  assert.equal(real.auth.kind, "hs256");
  assert.deepEqual(real.warnings, []);
});

const PUSHER_CHANNELS = { PUSHER_APP_ID: "1", PUSHER_KEY: "k", PUSHER_SECRET: "s", PUSHER_CLUSTER: "eu" };

Deno.test("loadConfig() says on Deno Deploy without PUSHER_* that realtime goes through Pusher Channels, and how to set it", () => {
  const deploy = loadConfig({ DENO_DEPLOYMENT_ID: "abc", AUTH_JWT_SECRET: SECRET });
  assert.deepEqual(deploy.warnings, [DEPLOY_REALTIME_WARNING]);
  assert.match(DEPLOY_REALTIME_WARNING, /Pusher Channels/);
  for (const name of ["PUSHER_APP_ID", "PUSHER_KEY", "PUSHER_SECRET", "PUSHER_CLUSTER"]) {
    assert.ok(DEPLOY_REALTIME_WARNING.includes(name), name);
  }
  assert.deepEqual(
    loadConfig({ DENO_DEPLOYMENT_ID: "abc", AUTH_JWT_SECRET: SECRET, ...PUSHER_CHANNELS }).warnings,
    [],
  );
  assert.deepEqual(
    loadConfig({ AUTH_JWT_SECRET: SECRET }).warnings,
    [],
    "not on Deploy: the embedded gateway is right",
  );
});

Deno.test("loadConfig() refuses DEMO=1 with auth configured and DEMO=0 without it", () => {
  assert.throws(() => loadConfig({ DEMO: "1", AUTH_JWT_SECRET: SECRET }), ConfigError);
  assert.throws(() => loadConfig({ DEMO: "0" }), ConfigError);
  assert.deepEqual(loadConfig({ DEMO: "1" }).auth, { kind: "demo" });
});

Deno.test("loadConfig() warns loudly at boot when DEV_LOGIN=1 runs beside a real secret", () => {
  const config = loadConfig({ AUTH_JWT_SECRET: SECRET, DEV_LOGIN: "1" });
  assert.equal(config.devLogin, true);
  assert.equal(config.warnings.length, 1);
  assert.match(config.warnings[0]!, /DEV_LOGIN=1/);
  assert.match(config.warnings[0]!, /anyone/i);
  assert.deepEqual(loadConfig({ AUTH_JWT_SECRET: SECRET }).warnings, []);
});

Deno.test("loadConfig() refuses an ADMIN_API_KEY shorter than 16 characters", () => {
  assert.throws(
    () => loadConfig({ ADMIN_API_KEY: "admin" }),
    (err) => err instanceof ConfigError && /ADMIN_API_KEY/.test(err.message) && /16/.test(err.message),
  );
  assert.equal(loadConfig({ ADMIN_API_KEY: "a".repeat(16) }).adminApiKey, "a".repeat(16));
});

Deno.test("loadConfig() reads the gateway's client events switch and caps, with their defaults", () => {
  assert.deepEqual(loadConfig({}).gateway, {
    clientEvents: false,
    maxConnections: 10_000,
    maxConnectionsPerIp: 100,
    maxSubscriptionsPerConnection: 100,
  });
  assert.deepEqual(
    loadConfig({
      PUSHER_CLIENT_EVENTS: "1",
      GATEWAY_MAX_CONNECTIONS: "500",
      GATEWAY_MAX_CONNECTIONS_PER_IP: "0",
      GATEWAY_MAX_SUBSCRIPTIONS: "10",
    }).gateway,
    { clientEvents: true, maxConnections: 500, maxConnectionsPerIp: 0, maxSubscriptionsPerConnection: 10 },
  );
  for (
    const env of [
      { PUSHER_CLIENT_EVENTS: "sometimes" },
      { GATEWAY_MAX_CONNECTIONS: "0" },
      { GATEWAY_MAX_CONNECTIONS_PER_IP: "-5" },
      { GATEWAY_MAX_SUBSCRIPTIONS: "0" },
    ]
  ) {
    assert.throws(() => loadConfig(env), ConfigError, JSON.stringify(env));
  }
});

Deno.test("loadConfig() reads REUSE_PORT, off by default", () => {
  assert.equal(loadConfig({ AUTH_JWT_SECRET: SECRET }).reusePort, false);
  assert.equal(loadConfig({ AUTH_JWT_SECRET: SECRET, REUSE_PORT: "1" }).reusePort, true);
  assert.throws(() => loadConfig({ AUTH_JWT_SECRET: SECRET, REUSE_PORT: "maybe" }), ConfigError);
});

Deno.test("loadConfig() reads UPLOAD_MAX_BYTES (10 MiB by default) and the S3_* settings together", () => {
  assert.equal(loadConfig({}).uploadMaxBytes, 10 * 1024 * 1024);
  assert.equal(loadConfig({}).s3, undefined);
  assert.equal(loadConfig({ UPLOAD_MAX_BYTES: "1000" }).uploadMaxBytes, 1000);
  assert.throws(() => loadConfig({ UPLOAD_MAX_BYTES: "lots" }), ConfigError);
  const s3 = {
    S3_ENDPOINT: "https://s3.example.com/",
    S3_BUCKET: "chat",
    S3_ACCESS_KEY_ID: "id",
    S3_SECRET_ACCESS_KEY: "secret",
  };
  assert.deepEqual(loadConfig(s3).s3, {
    endpoint: "https://s3.example.com",
    bucket: "chat",
    region: "us-east-1",
    accessKeyId: "id",
    secretAccessKey: "secret",
    forcePathStyle: false,
  });
  assert.equal(loadConfig({ ...s3, S3_REGION: "auto", S3_FORCE_PATH_STYLE: "1" }).s3?.forcePathStyle, true);
  const { S3_BUCKET: _, ...partial } = s3;
  assert.throws(() => loadConfig(partial), /S3 storage needs S3_BUCKET/);
  assert.throws(() => loadConfig({ ...s3, S3_ENDPOINT: "ftp://x" }), ConfigError);
  assert.throws(() => loadConfig({ S3_REGION: "eu-west-1" }), ConfigError);
});
