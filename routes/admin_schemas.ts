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

export const DeadLetterSchema = z.object({
  id: z.string().openapi({ description: "`{sink}:{stream}:{order}`", example: "push:room:g_1:12" }),
  sink: z.enum(["realtime", "push", "social"]),
  stream: z.string().openapi({ example: "room:g_1" }),
  roomId: z.string().nullable().openapi({ example: "g_1" }),
  userId: z.string().nullable().openapi({ example: null }),
  order: z.number().int(),
  attempts: z.number().int(),
  events: z.number().int().openapi({ description: "Events in the batch" }),
  lastError: z.string().optional().openapi({ example: "OneSignal refused the notification: HTTP 400" }),
  createdAt: z.number().int().openapi({ description: "When the batch was committed (ms since the epoch)" }),
  deadAt: z.number().int().openapi({ description: "When its last attempt failed (ms since the epoch)" }),
  ageMs: z.number().int().openapi({ description: "How long ago it was committed", example: 93000 }),
}).openapi("DeadLetter");

export const DeadQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100).openapi({
    param: { name: "limit", in: "query" },
    example: 100,
  }),
});

export const DeadLettersResponse = z.object({
  success: z.literal(true),
  deadLetters: z.array(DeadLetterSchema),
});

export const ReplayBody = z.union([
  z.object({ id: z.string().min(1).max(400) }).strict(),
  z.object({ all: z.literal(true) }).strict(),
]).openapi("ReplayRequest", {
  description: "One dead batch by id, or every dead batch",
  example: { id: "push:room:g_1:12" },
});

export const ReplayResponse = z.object({
  success: z.literal(true),
  replayed: z.number().int().openapi({ description: "Batches moved back to pending", example: 1 }),
});

export const PurgeResponse = z.object({
  success: z.literal(true),
  purged: z.number().int().openapi({ description: "Dead batches deleted", example: 3 }),
});

export const EventsQuery = z.object({
  after: z.coerce.number().int().min(0).optional().openapi({
    param: { name: "after", in: "query" },
    description: "Only events with a larger `id` (the `lastId` of the previous answer)",
    example: 120,
  }),
  roomId: z.string().regex(/^[A-Za-z0-9_\-=@,.;]{1,128}$/, "must be a room id").optional().openapi({
    param: { name: "roomId", in: "query" },
    example: "g_1",
  }),
});

export const EventsResponse = z.object({
  success: z.literal(true),
  events: z.array(z.object({
    id: z.number().int(),
    channel: z.string().openapi({ example: "private-room-g_1" }),
    event: z.string().openapi({ example: "message.created" }),
    roomId: z.string().nullable(),
    seq: z.number().int().nullable(),
    at: z.number().int().openapi({ description: "When it was published (ms since the epoch)" }),
  })),
  lastId: z.number().int().openapi({ description: "Pass as `after` to get only newer events" }),
}).openapi("RealtimeTail", {
  description: "The last events (up to 500) this server process published, oldest first",
  example: {
    success: true,
    events: [{
      id: 121,
      channel: "private-room-g_1",
      event: "message.created",
      roomId: "g_1",
      seq: 42,
      at: 1764626400000,
    }],
    lastId: 121,
  },
});

const Iso = z.string().openapi({ example: "2026-12-01T22:00:00.000Z" });

export const AdminUserResponse = z.object({
  success: z.literal(true),
  user: z.object({
    id: z.string(),
    name: z.string(),
    avatar: z.string().nullable(),
    createdAt: Iso,
    updatedAt: Iso,
    online: z.boolean(),
    lastSeenAt: Iso.nullable(),
    unreadTotal: z.number().int(),
    rooms: z.array(z.object({
      id: z.string(),
      type: z.enum(["DIRECT", "GROUP"]),
      name: z.string(),
      role: z.enum(["owner", "admin", "member"]).nullable(),
      unreadCount: z.number().int(),
      lastActivityAt: Iso,
    })).openapi({ description: "The user's 50 most recently active rooms" }),
  }),
}).openapi("AdminUser");

export const AdminRoomResponse = z.object({
  success: z.literal(true),
  room: z.object({
    id: z.string(),
    type: z.enum(["DIRECT", "GROUP"]),
    name: z.string(),
    createdAt: Iso,
    createdBy: z.string(),
    lastSeq: z.number().int(),
    lastActivityAt: Iso,
    lastMessage: z.object({
      id: z.string(),
      seq: z.number().int(),
      senderId: z.string(),
      text: z.string(),
      createdAt: Iso,
    }).nullable(),
    members: z.array(z.object({
      userId: z.string(),
      role: z.enum(["owner", "admin", "member"]),
      active: z.boolean(),
      joinedAt: Iso,
      readSeq: z.number().int().openapi({ description: "The member's read position" }),
      readAt: Iso.nullable(),
      unreadCount: z.number().int(),
      leftSeq: z.number().int().nullable(),
      archived: z.boolean(),
    })),
  }),
}).openapi("AdminRoom");

const AdminMessage = z.object({
  id: z.string().openapi({ example: "g_1:42" }),
  roomId: z.string(),
  seq: z.number().int(),
  senderId: z.string(),
  senderName: z.string(),
  type: z.enum(["text", "image", "file"]),
  content: z.string(),
  attachment: z.object({
    type: z.string().nullable(),
    name: z.string().nullable(),
    size: z.number().nullable(),
  }).nullable().openapi({ description: "Name, type and size only: attachment URLs are not shown" }),
  replyToId: z.string().nullable(),
  reactions: z.record(z.string(), z.number().int()).openapi({ description: "Emoji → how many reacted" }),
  createdAt: Iso,
  editedAt: Iso.nullable(),
  editCount: z.number().int(),
  deletedAt: Iso.nullable(),
}).openapi("AdminMessage");

export const AdminMessagesQuery = z.object({
  beforeSeq: z.coerce.number().int().min(1).optional().openapi({
    param: { name: "beforeSeq", in: "query" },
    example: 40,
  }),
  limit: z.coerce.number().int().min(1).max(100).default(20).openapi({
    param: { name: "limit", in: "query" },
    example: 20,
  }),
});

export const AdminMessagesResponse = z.object({ success: z.literal(true), messages: z.array(AdminMessage) });

export const AdminMessageResponse = z.object({
  success: z.literal(true),
  message: AdminMessage,
  versions: z.array(z.object({
    version: z.number().int().openapi({ description: "0 is the original content" }),
    content: z.string(),
    writtenAt: Iso,
    replacedAt: Iso,
  })),
}).openapi("AdminMessageWithVersions");
