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
}).openapi("OutboxCounts", { description: "Each count stops at 10,000" });

export const HealthSchema = z.object({
  ok: z.boolean(),
  mode: z.enum(["demo", "production"]),
  kv: z.string().openapi({
    description: "Which store: a file path, `:memory:`, a KV Connect URL, or `deno-deploy`",
  }),
  realtime: z.enum(["embedded", "pusher"]),
  push: z.enum(["onesignal", "disabled"]),
  outbox: OutboxCountsSchema,
}).openapi("Health");

/** What the health report shows. */
export interface HealthDeps {
  mode: "demo" | "production";
  kv: string;
  realtime: "embedded" | "pusher";
  push: "onesignal" | "disabled";
  outboxCounts: () => Promise<z.infer<typeof OutboxCountsSchema>>;
}

const health = createRoute({
  method: "get",
  path: "/healthz",
  tags: ["Operations"],
  summary: "Health and configuration",
  responses: ok(HealthSchema, "The server is up"),
});

/** The health route, mounted at the root. */
export function healthRoutes(deps: HealthDeps): OpenAPIHono<AppEnv> {
  return apiRouter().openapi(health, async (c) => {
    const { outboxCounts, ...info } = deps;
    return c.json({ ok: true, ...info, outbox: await outboxCounts() }, 200);
  });
}
