/** @module The operator routes under `/api/admin`: stats, the outbox per sink, dead letters, the event tail. */
import { createRoute } from "@hono/zod-openapi";
import type { OpenAPIHono } from "@hono/zod-openapi";
import { adminStats, outboxBacklog } from "../admin/stats.ts";
import type { AppEnv } from "../auth/middleware.ts";
import type { LatencyHistogram } from "../outbox/metrics.ts";
import { ADMIN_OFF, AdminStatsSchema, OutboxResponse, StatsQuery } from "./admin_schemas.ts";
import { errors, ok } from "./validate.ts";

/** What the operator routes read. */
export interface OperatorDeps {
  kv: Deno.Kv;
  /** This process's delivery latency histograms (the outbox metrics). */
  latency?: () => Record<string, LatencyHistogram>;
}

const admin = { tags: ["Admin"], security: [{ adminKey: [] }] };

const stats = createRoute({
  ...admin,
  operationId: "getAdminStats",
  method: "get",
  path: "/stats",
  summary: "Operator counters and the outbox per sink",
  description: "Messages per hour (total and per room type), active users (each counted once per UTC day; " +
    "`last7Days` distinct), rooms created, push outcomes, and the outbox per sink with the age of its oldest " +
    "batch. Every figure comes from counters written in the same commits as the changes they count, so the " +
    "answer costs the same at any traffic or backlog. `deliveryLatency` is the answering process's histogram.",
  request: { query: StatsQuery },
  responses: {
    ...ok(AdminStatsSchema, "The counters of the last `days` days"),
    ...errors(400, 401),
    ...ADMIN_OFF,
  },
});

const outbox = createRoute({
  ...admin,
  operationId: "getOutboxBacklog",
  method: "get",
  path: "/outbox",
  summary: "The outbox per sink",
  description: "Pending, retrying and dead batches per sink and the age of each sink's oldest undelivered " +
    "batch: a few counter reads, cheap enough to poll every second.",
  responses: { ...ok(OutboxResponse, "The backlog per sink"), ...errors(401), ...ADMIN_OFF },
});

/** The operator routes' definitions (paths relative to `/api/admin`), for the OpenAPI document. */
export const OPERATOR_ROUTES = [stats, outbox];

/** Adds the operator routes to the admin sub-app (which checks the admin key first). */
export function addOperatorRoutes(app: OpenAPIHono<AppEnv>, deps: OperatorDeps): OpenAPIHono<AppEnv> {
  return app
    .openapi(stats, async (c) => {
      const { days } = c.req.valid("query");
      const body = await adminStats(deps.kv, { days, latency: deps.latency });
      return c.json({ success: true as const, ...body }, 200);
    })
    .openapi(outbox, async (c) => {
      return c.json({ success: true as const, outbox: await outboxBacklog(deps.kv) }, 200);
    });
}
