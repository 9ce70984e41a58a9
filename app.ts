/** @module The Hono app: middleware, the one error mapping, and every route area mounted. */
import { OpenAPIHono } from "@hono/zod-openapi";
import { HTTPException } from "hono/http-exception";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { type AppEnv, requireUser } from "./auth/middleware.ts";
import type { Verifier } from "./auth/jwt.ts";
import type { ChatDeps } from "./chat/service.ts";
import { HttpError } from "./http_error.ts";
import type { NotifyDeps } from "./social/deps.ts";
import { securityHeaders } from "./security_headers.ts";
import { adminRoutes } from "./routes/admin.ts";
import { chatRoutes } from "./routes/chat.ts";
import { meRoutes } from "./routes/me.ts";
import { notificationRoutes, userRoutes } from "./routes/social.ts";
import { devRoutes } from "./routes/dev.ts";
import { type HealthDeps, healthRoutes } from "./routes/health.ts";
import { metricsRoutes } from "./routes/metrics.ts";
import { type RealtimeRouteDeps, realtimeRoutes } from "./routes/realtime.ts";
import { openapiRoutes } from "./routes/openapi.ts";
import { webRoutes } from "./routes/web.ts";
import { uploadRoutes } from "./routes/uploads.ts";
import { isUploadContentPath } from "./uploads/signing.ts";
import type { UploadDeps } from "./uploads/upload_service.ts";
import type { Hono } from "hono";

/** Largest request body the API reads. */
export const MAX_BODY_BYTES = 64 * 1024;

/** `/api/*` paths that do not take a user's bearer token (an upload's bytes: the link is signed). */
function isPublicApi(path: string): boolean {
  return path === "/api/dev/login" || path === "/api/pusher/webhook" || path.startsWith("/api/admin/") ||
    isUploadContentPath(path);
}

/** Everything the routes need. */
export interface AppDeps extends ChatDeps {
  verify: Verifier;
  /** Signs dev-login tokens; absent when dev login is off. */
  signDevToken?: (
    claims: { sub: string; name: string; picture?: string },
    ttlSeconds: number,
  ) => Promise<string>;
  adminApiKey?: string;
  corsOrigins: string[];
  /** What social commits (follows, notifications) go through: the batcher, and whether push is on. */
  social: Pick<NotifyDeps, "batcher" | "push">;
  health: HealthDeps;
  /** Channel auth, webhooks and client config; absent in apps built without realtime. */
  realtime?: RealtimeRouteDeps;
  /** The embedded gateway's WebSocket and HTTP events API (`/app/:key`, `/apps/:id/*`). */
  gatewayRoutes?: Hono;
  /** The Prometheus text of `/metrics`. */
  renderMetrics?: () => Promise<string>;
  /** Attachment uploads: the stores, the link signer, the size limit. */
  uploadDeps: UploadDeps;
}

/** Builds the app; no I/O happens until a request arrives. */
export function createApp(deps: AppDeps): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>();
  app.use("*", securityHeaders());
  app.use(
    "/api/*",
    cors({
      origin: deps.corsOrigins.includes("*") ? "*" : deps.corsOrigins,
      allowHeaders: ["Authorization", "Content-Type", "X-Admin-Key"],
      allowMethods: ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
      exposeHeaders: ["Retry-After"],
      maxAge: 600,
    }),
  );
  const limitBody = bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: () => {
      throw new HttpError(413, `Request body larger than ${MAX_BODY_BYTES / 1024} KB`);
    },
  });
  // An upload's bytes are streamed into the store, which holds them to the upload's declared size.
  app.use("/api/*", (c, next) => isUploadContentPath(c.req.path) ? next() : limitBody(c, next));
  app.route("/", healthRoutes(deps.health));
  app.route("/", webRoutes());
  app.route("/", openapiRoutes(app));
  if (deps.renderMetrics) app.route("/", metricsRoutes(deps.renderMetrics));
  if (deps.gatewayRoutes) app.route("/", deps.gatewayRoutes);
  if (deps.signDevToken) app.route("/api/dev", devRoutes({ users: deps.users, sign: deps.signDevToken }));
  if (deps.adminApiKey) {
    app.route("/api/admin", adminRoutes({ users: deps.users, adminApiKey: deps.adminApiKey }));
  }
  const authenticate = requireUser(deps.verify, deps.users);
  app.use("/api/*", (c, next) => isPublicApi(c.req.path) ? next() : authenticate(c, next));
  app.route("/api/chat/uploads", uploadRoutes(deps.uploadDeps));
  app.route("/api/chat", chatRoutes(deps));
  const social = { kv: deps.kv, users: deps.users, ...deps.social };
  app.route("/api/users", userRoutes(social));
  app.route("/api/notifications", notificationRoutes(social));
  app.route("/api/me", meRoutes(social));
  if (deps.realtime) app.route("/api", realtimeRoutes(deps.realtime));

  app.onError((err, c) => {
    if (err instanceof HttpError) return c.json({ error: err.message }, err.status, err.headers);
    if (err instanceof HTTPException) {
      return c.json({ error: err.message || "Bad request" }, err.status as 400);
    }
    console.error(err); // the stack goes to the log, never to the client
    return c.json({ error: "Internal server error" }, 500);
  });
  app.notFound((c) => c.json({ error: "Not found" }, 404));
  return app;
}
