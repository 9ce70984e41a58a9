/** @module The operator routes under `/api/admin`: stats, the outbox per sink, dead letters, the event tail. */
import { createRoute } from "@hono/zod-openapi";
import type { OpenAPIHono } from "@hono/zod-openapi";
import { adminStats } from "../admin/stats.ts";
import type { AppEnv } from "../auth/middleware.ts";
import type { LatencyHistogram } from "../outbox/metrics.ts";
import { deadLetters } from "../outbox/dead_letters.ts";
import { HttpError } from "../http_error.ts";
import { outboxBacklog, purgeDead, replayDead } from "../outbox/operations.ts";
import type { EventTail } from "../realtime/event_tail.ts";
import {
  ADMIN_OFF,
  AdminStatsSchema,
  DeadLettersResponse,
  DeadQuery,
  EventsQuery,
  EventsResponse,
  OutboxResponse,
  PurgeResponse,
  ReplayBody,
  ReplayResponse,
  StatsQuery,
} from "./admin_schemas.ts";
import { ErrorSchema } from "./schemas.ts";
import { errors, jsonBody, ok } from "./validate.ts";

/** What the operator routes read. */
export interface OperatorDeps {
  kv: Deno.Kv;
  /** This process's delivery latency histograms (the outbox metrics). */
  latency?: () => Record<string, LatencyHistogram>;
  /** What this process published to realtime lately. */
  tail?: EventTail;
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

const dead = createRoute({
  ...admin,
  operationId: "listDeadLetters",
  method: "get",
  path: "/outbox/dead",
  summary: "Dead letters",
  description:
    "Batches that failed their last attempt, with their sink, room or user, attempts, age and last " +
    "error, in stream order (at most `limit`).",
  request: { query: DeadQuery },
  responses: { ...ok(DeadLettersResponse, "The dead batches"), ...errors(400, 401), ...ADMIN_OFF },
});

const replay = createRoute({
  ...admin,
  operationId: "replayDeadLetters",
  method: "post",
  path: "/outbox/dead/replay",
  summary: "Replay dead letters",
  description: "Moves one dead batch (`{id}`) or all of them (`{all: true}`) back to pending with fresh " +
    "attempts and wakes the watcher in the same commit; they are delivered in stream order.",
  request: jsonBody(ReplayBody),
  responses: {
    ...ok(ReplayResponse, "How many batches went back to pending"),
    ...errors(400, 401, 415),
    404: {
      content: { "application/json": { schema: ErrorSchema } },
      description: 'No such dead batch, or the admin API is off: `{"error": …}`',
    },
  },
});

const purge = createRoute({
  ...admin,
  operationId: "purgeDeadLetters",
  method: "delete",
  path: "/outbox/dead",
  summary: "Purge dead letters",
  description: "Deletes every dead batch (their events are never delivered) and the parked wake messages.",
  responses: { ...ok(PurgeResponse, "How many dead batches were deleted"), ...errors(401), ...ADMIN_OFF },
});

const events = createRoute({
  ...admin,
  operationId: "listRealtimeEvents",
  method: "get",
  path: "/events",
  summary: "Live tail of published realtime events",
  description: "The last events (up to 500) the answering process published to Pusher or the embedded " +
    "gateway: channel, event, the room and its `seq`, when. Poll with `after` = the previous `lastId`; " +
    "`roomId` keeps one room's events.",
  request: { query: EventsQuery },
  responses: { ...ok(EventsResponse, "Events newer than `after`"), ...errors(400, 401), ...ADMIN_OFF },
});

/** The operator routes' definitions (paths relative to `/api/admin`), for the OpenAPI document. */
export const OPERATOR_ROUTES = [stats, outbox, dead, replay, purge, events];

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
    })
    .openapi(dead, async (c) => {
      const { limit } = c.req.valid("query");
      return c.json({ success: true as const, deadLetters: await deadLetters(deps.kv, { limit }) }, 200);
    })
    .openapi(replay, async (c) => {
      const body = c.req.valid("json");
      try {
        const replayed = await replayDead(deps.kv, "all" in body ? { all: true } : { id: body.id });
        return c.json({ success: true as const, replayed }, 200);
      } catch (err) {
        if (!(err instanceof RangeError)) throw err;
        throw new HttpError(err.message.startsWith("Not a batch id") ? 400 : 404, err.message);
      }
    })
    .openapi(purge, async (c) => {
      return c.json({ success: true as const, purged: await purgeDead(deps.kv) }, 200);
    })
    .openapi(events, (c) => {
      const { after, roomId } = c.req.valid("query");
      const list = deps.tail?.list({ after, roomId }) ?? [];
      return c.json({ success: true as const, events: list, lastId: deps.tail?.lastId ?? 0 }, 200);
    });
}
