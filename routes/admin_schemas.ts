/** @module Response and request schemas of the operator routes (`/api/admin/*` besides provisioning). */
import { z } from "@hono/zod-openapi";
import { ErrorSchema } from "./schemas.ts";

/** The answer of every admin route while the admin API is off. */
export const ADMIN_OFF = {
  404: {
    content: { "application/json": { schema: ErrorSchema } },
    description: 'The admin API is off (`ADMIN_API_KEY` unset): `{"error": "Not found"}`',
  },
};

const Count = z.number().int().nonnegative();

const SinkBacklogSchema = z.object({
  pending: Count.openapi({ example: 3 }),
  retrying: Count.openapi({ example: 1 }),
  dead: Count.openapi({ example: 0 }),
  oldestAgeMs: z.number().int().nonnegative().nullable().openapi({
    description: "How long the oldest pending or retrying batch has waited (ms); null when none waits",
    example: 1250,
  }),
}).openapi("SinkBacklog");

export const OutboxBacklogSchema = z.object({
  realtime: SinkBacklogSchema,
  push: SinkBacklogSchema,
  social: SinkBacklogSchema,
}).openapi("OutboxBacklog", {
  description: "Outbox batches per sink and state, from counters kept in the outbox's own commits",
});

const LatencySchema = z.object({
  count: Count,
  meanSeconds: z.number().nonnegative(),
  buckets: z.array(z.object({ le: z.number().positive(), count: Count })).openapi({
    description: "Cumulative counts per upper bound in seconds, as Prometheus histograms",
  }),
}).openapi("DeliveryLatency");

const PushCountsSchema = {
  delivered: Count.openapi({ description: "Notifications OneSignal accepted (one per recipient)" }),
  notDelivered: Count.openapi({
    description: "Answers without a notification id or with `errors` (counted, not retried)",
  }),
  failed: Count.openapi({
    description: "Failed delivery attempts of push batches (network, timeout, 429, 5xx, refused)",
  }),
};

export const StatsQuery = z.object({
  days: z.coerce.number().int().min(1).max(31).default(7).openapi({
    param: { name: "days", in: "query" },
    description: "Days of buckets to return, 1-31 (the current one included)",
    example: 7,
  }),
});

export const AdminStatsSchema = z.object({
  success: z.literal(true),
  days: z.number().int(),
  messages: z.object({
    perHour: z.array(z.object({
      at: z.string().openapi({ description: "Start of the hour (UTC)", example: "2026-12-01T22:00:00.000Z" }),
      count: Count,
      direct: Count,
      group: Count,
    })).openapi({ description: "`days × 24` hours, oldest first, hours without messages included" }),
    total: Count.openapi({ description: "Messages in the window" }),
    direct: Count,
    group: Count,
  }),
  activeUsers: z.object({
    today: Count.openapi({ description: "Users who acted in a room today (UTC), each once", example: 42 }),
    last7Days: Count.openapi({ description: "Distinct users active in the last 7 days", example: 120 }),
    perDay: z.array(z.object({ day: z.string().openapi({ example: "2026-12-01" }), count: Count })),
  }),
  rooms: z.object({
    direct: Count.openapi({ description: "Direct rooms created, all time" }),
    group: Count.openapi({ description: "Groups created, all time" }),
  }),
  push: z.object({
    ...PushCountsSchema,
    perDay: z.array(z.object({ day: z.string(), ...PushCountsSchema })),
  }),
  outbox: OutboxBacklogSchema,
  deliveryLatency: z.record(z.string(), LatencySchema).openapi({
    description: "Commit-to-delivery latency per sink, as measured by the process that answers",
  }),
}).openapi("AdminStats", {
  example: {
    success: true,
    days: 1,
    messages: {
      perHour: [{ at: "2026-12-01T22:00:00.000Z", count: 5, direct: 3, group: 2 }],
      total: 5,
      direct: 3,
      group: 2,
    },
    activeUsers: { today: 2, last7Days: 3, perDay: [{ day: "2026-12-01", count: 2 }] },
    rooms: { direct: 1, group: 1 },
    push: {
      delivered: 4,
      notDelivered: 0,
      failed: 1,
      perDay: [{ day: "2026-12-01", delivered: 4, notDelivered: 0, failed: 1 }],
    },
    outbox: {
      realtime: { pending: 0, retrying: 0, dead: 0, oldestAgeMs: null },
      push: { pending: 2, retrying: 1, dead: 0, oldestAgeMs: 5400 },
      social: { pending: 0, retrying: 0, dead: 0, oldestAgeMs: null },
    },
    deliveryLatency: { realtime: { count: 5, meanSeconds: 0.004, buckets: [{ le: 0.005, count: 4 }] } },
  },
});

export const OutboxResponse = z.object({ success: z.literal(true), outbox: OutboxBacklogSchema });
