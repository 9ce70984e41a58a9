/** @module `GET /healthz`: what the server runs with, and how far behind its outbox is. */
import { createRoute, z } from "@hono/zod-openapi";
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../auth/middleware.ts";
import { apiRouter, ok } from "./validate.ts";

export const OutboxCountsSchema = z.object({
  pending: z.number().int().openapi({ description: "Batches waiting for their first delivery attempt" }),
  retrying: z.number().int().openapi({ description: "Batches that failed and wait for a retry (backoff)" }),
  dead: z.number().int().openapi({
    description: "Batches that failed their last attempt; `deno task outbox replay --all` sends them again",
  }),
}).openapi("OutboxCounts", {
  description:
    "Exact counts over every sink (realtime, push, social), kept in counters that the outbox's own " +
    "commits update: reading them costs the same at any backlog",
});

export const HealthSchema = z.object({
  ok: z.boolean(),
  mode: z.enum(["demo", "production"]),
  realtime: z.enum(["embedded", "pusher"]),
  push: z.enum(["onesignal", "disabled"]),
  outbox: OutboxCountsSchema,
}).openapi("Health", { description: "Public: no file paths, versions or secrets" });

type OutboxCounts = z.infer<typeof OutboxCountsSchema>;

/** What the health report shows. */
export interface HealthDeps {
  mode: "demo" | "production";
  realtime: "embedded" | "pusher";
  push: "onesignal" | "disabled";
  /** O(1) counts (counters, not scans). */
  outboxCounts: () => Promise<OutboxCounts>;
}

const health = createRoute({
  operationId: "getHealth",
  method: "get",
  path: "/healthz",
  tags: ["Operations"],
  security: [],
  summary: "Health and configuration",
  description: "Cheap at any backlog: one read of the outbox counters.",
  responses: ok(HealthSchema, "The server is up"),
});

/** The health route, mounted at the root. */
export function healthRoutes(deps: HealthDeps): OpenAPIHono<AppEnv> {
  return apiRouter().openapi(health, async (c) => {
    const { pending, retrying, dead } = await deps.outboxCounts();
    const outbox = {
      pending: Math.max(0, pending),
      retrying: Math.max(0, retrying),
      dead: Math.max(0, dead),
    };
    return c.json({ ok: true, mode: deps.mode, realtime: deps.realtime, push: deps.push, outbox }, 200);
  });
}
