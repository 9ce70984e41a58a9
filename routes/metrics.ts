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
    "typing indicators published and dropped. Counters are per process.",
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
