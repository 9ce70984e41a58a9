import assert from "node:assert/strict";
import { ConfigError, loadConfig } from "./config.ts";

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
    ADMIN_API_KEY: "admin",
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
  assert.equal(config.adminApiKey, "admin");
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
  assert.equal(loadConfig({ DENO_DEPLOYMENT_ID: "abc" }).kvPath, undefined);
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
    { AUTH_JWKS_URL: "https://id.example/jwks.json", DEV_LOGIN: "1" },
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
