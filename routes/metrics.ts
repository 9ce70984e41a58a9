/** @module `GET /metrics`: the outbox and its sinks in the Prometheus text format. */
import { createRoute, z } from "@hono/zod-openapi";
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../auth/middleware.ts";
import { apiRouter } from "./validate.ts";

const metrics = createRoute({
  operationId: "getMetrics",
  method: "get",
  path: "/metrics",
  tags: ["Operations"],
  security: [],
  summary: "Prometheus metrics",
  description: "Outbox gauges `outbox_batches{state=pending|retrying|dead}` and, per sink (realtime, push, " +
    "social), `outbox_sink_batches{sink,state}`, read from counters kept with the outbox's writes (cheap at " +
    "any backlog); `outbox_deliveries_total` and " +
    "`outbox_failures_total` per sink, `outbox_dead_letters_total`, the commit-to-delivery histogram " +
    "`outbox_delivery_latency_seconds`, `push_outcomes_total{outcome=sent|not_delivered|skipped}`, and " +
    "typing indicators published and dropped (these are per process); and, read from KV so every process " +
    "reports the same values, `chat_messages_total{room_type}`, `chat_rooms_created_total{room_type}`, " +
    "`chat_active_users{window=today|7d}`, `chat_push_outcomes_total{outcome=delivered|not_delivered|failed}` " +
    "and `outbox_oldest_age_seconds{sink}`. `docs/grafana-dashboard.json` charts them.",
  responses: {
    200: { content: { "text/plain": { schema: z.string() } }, description: "Prometheus text format 0.0.4" },
  },
});

/** The metrics route, mounted at the root; `render` builds the text. */
export function metricsRoutes(render: () => Promise<string>): OpenAPIHono<AppEnv> {
  return apiRouter().openapi(metrics, async (c) => {
    return c.text(await render(), 200, { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" });
  });
}
