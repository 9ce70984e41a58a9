/**
 * @module `/api/pusher/auth`, `/api/pusher/user-auth`, `/api/pusher/webhook` and
 * `/api/realtime/config`: channel authorization, user sign-in, presence webhooks and the
 * `pusher-js` options.
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { OpenAPIHono } from "@hono/zod-openapi";
import type Pusher from "pusher";
import type { AppEnv } from "../auth/middleware.ts";
import type { RealtimeConfig } from "../config.ts";
import { HttpError } from "../http_error.ts";
import { authenticateUser, authorizeChannel } from "../realtime/channel_auth.ts";
import { clientConfig } from "../realtime/client_config.ts";
import type { PusherCredentials } from "../realtime/credentials.ts";
import { applyPresenceWebhook, isFreshWebhook, verifyWebhook } from "../realtime/webhooks.ts";
import { apiRouter, describeZodError, errors, ok } from "./validate.ts";

/** What the realtime routes need. */
export interface RealtimeRouteDeps {
  kv: Deno.Kv;
  credentials: PusherCredentials;
  /** Signs channel authorizations (the `npm:pusher` client). */
  pusher: Pusher;
  realtime: RealtimeConfig;
  /** The port this server listens on, once it does. */
  serverPort: () => number | undefined;
}

const AuthBody = z.object({
  socket_id: z.string().regex(/^\d+\.\d+$/, "must look like 123.456"),
  channel_name: z.string().min(1).max(200),
}).openapi("ChannelAuthRequest");

const UserAuthBody = z.object({
  socket_id: z.string().regex(/^\d+\.\d+$/, "must look like 123.456").openapi({ example: "1234.5678" }),
}).openapi("UserAuthRequest");

const UserAuthResponse = z.object({
  auth: z.string().openapi({ example: "app-key:9a3e…" }),
  user_data: z.string().openapi({
    description: 'The signed user: `{"id","user_info":{"name","avatar"}}` as a JSON string',
  }),
}).openapi("UserAuth");

const AuthResponse = z.object({
  auth: z.string().openapi({ example: "app-key:5f1c…" }),
  channel_data: z.string().optional().openapi({
    description:
      'Presence channels: `{"user_id","user_info":{"name","avatar"}}` as a JSON string. With the ' +
      'embedded gateway private channels carry `{"user_id","issued_at"}` too (pusher-js passes it on as it is): ' +
      "the gateway knows whose subscription it is, ends it when the user leaves the room, and refuses a " +
      "signature issued before that or more than 5 minutes ago",
  }),
}).openapi("ChannelAuth");

const WebhookBody = z.object({
  time_ms: z.number().openapi({ description: "When Pusher sent it (ms); more than 5 minutes off → 401" }),
  events: z.array(z.object({
    name: z.string().openapi({
      description:
        "`channel_occupied`, `channel_vacated`, `member_added` or `member_removed` (others are ignored)",
    }),
    channel: z.string(),
    user_id: z.string().optional().openapi({ description: "Presence events: the member" }),
  })),
}).openapi("PusherWebhook", {
  description: "Pusher's webhook body, signed with `X-Pusher-Signature`",
  example: { time_ms: 1764000000000, events: [{ name: "channel_occupied", channel: "private-user-alice" }] },
});

const ClientConfigSchema = z.object({
  key: z.string(),
  cluster: z.string(),
  wsHost: z.string().optional(),
  wsPort: z.number().int().optional(),
  wssPort: z.number().int().optional(),
  forceTLS: z.boolean(),
  enabledTransports: z.array(z.enum(["ws", "wss"])).optional(),
  authEndpoint: z.string(),
  userAuthEndpoint: z.string().openapi({
    description:
      "pusher-js `userAuthentication.endpoint`: call `pusher.signin()` so that a removal can end " +
      "your connection's access (required with Pusher Channels)",
  }),
}).openapi("RealtimeConfig");

const tags = ["Realtime"];

const auth = createRoute({
  operationId: "authorizeChannel",
  method: "post",
  path: "/pusher/auth",
  tags,
  security: [{ bearer: [] }],
  summary: "Authorize a channel subscription (pusher-js authEndpoint)",
  description:
    "Form-encoded (pusher-js default) or JSON `socket_id` and `channel_name`. Signs only the caller's " +
    "own `private-user-{userId}` and `private-room-{roomId}` / `presence-room-{roomId}` of rooms the caller is an " +
    'active member of. A room the caller was never in answers `404 {"error":"Room not found"}`, exactly as a room ' +
    "that does not exist; a former member gets 403, as does any other channel. Presence `channel_data` is " +
    "`{user_id, user_info: {name, avatar}}`.\n\n" +
    "Events: room channel `new-message` (the Message), `message-read`, `user-typing`; user channel " +
    "`new-message` {message, roomId, unreadCount, totalUnread}, `unread-updated` {roomId, seq, unreadCount, " +
    "totalUnread}, `notification`, and `room-created` {roomId, seq: 0, memberIds} when the user joins a new " +
    "room (refresh the room list). Durable events arrive at least once, in `seq` order per room; data over " +
    "10 KB arrives as `{roomId, seq, messageId, truncated: true}` (fetch the message with `afterSeq`).",
  request: {
    body: {
      content: {
        "application/x-www-form-urlencoded": { schema: AuthBody },
        "application/json": { schema: AuthBody },
      },
      required: false,
    },
  },
  responses: {
    ...ok(AuthResponse, "The signature pusher-js sends with its subscribe"),
    ...errors(400, 401, 403, 404),
  },
});

const userAuth = createRoute({
  operationId: "authenticateUser",
  method: "post",
  path: "/pusher/user-auth",
  tags,
  security: [{ bearer: [] }],
  summary: "Sign the connection in as the caller (pusher-js userAuthentication, `pusher.signin()`)",
  description:
    "Form-encoded (pusher-js default) or JSON `socket_id`. Signs `pusher:signin` for the caller: " +
    "the connection is then known as theirs. With Pusher Channels this is what lets the server end a removed " +
    "member's access: it calls Pusher's terminate-connections API for that user, pusher-js reconnects and " +
    "authorizes each channel again, and the room they left is refused. Connections that never sign in cannot " +
    "be found by user, so clients should always call `signin()` (the web client does). The embedded gateway " +
    "also knows whose subscription each is from `/api/pusher/auth`, so there signing in is optional.",
  request: {
    body: {
      content: {
        "application/x-www-form-urlencoded": { schema: UserAuthBody },
        "application/json": { schema: UserAuthBody },
      },
      required: false,
    },
  },
  responses: {
    ...ok(UserAuthResponse, "The signature pusher-js sends with pusher:signin"),
    ...errors(400, 401),
  },
});

const webhook = createRoute({
  operationId: "receivePusherWebhook",
  method: "post",
  path: "/pusher/webhook",
  tags,
  security: [],
  summary: "Receive Pusher webhooks (presence)",
  description: "No bearer token: `X-Pusher-Key` must be the app key and `X-Pusher-Signature` the hex " +
    "HMAC-SHA256 of the raw body with the app secret (401 otherwise). `channel_occupied` / `channel_vacated` " +
    "of `private-user-{id}` and presence `member_added` / `member_removed` update the user's `online` and " +
    "`lastSeenAt`. The embedded gateway feeds the same handler directly. Body: Pusher's " +
    "`{time_ms, events: [{name, channel, user_id?}]}` (read raw, so the signature covers exactly what was sent). " +
    "A body whose `time_ms` is more than 5 minutes from the server clock is refused with 401, so a captured " +
    "webhook cannot be replayed later.",
  request: {
    body: {
      // A schema reference rather than the zod schema: zod-openapi would parse the JSON before the
      // handler checks the signature over the raw bytes. Registered in realtimeRoutes().
      content: { "application/json": { schema: { $ref: "#/components/schemas/PusherWebhook" } } },
      required: true,
    },
  },
  responses: {
    ...ok(z.object({ ok: z.boolean() }), "Applied"),
    ...errors(400, 401),
  },
});

const config = createRoute({
  operationId: "getRealtimeConfig",
  method: "get",
  path: "/realtime/config",
  tags,
  security: [{ bearer: [] }],
  summary: "The pusher-js options for this server",
  description:
    "Pass to `new Pusher(key, options)` together with `auth: {headers: {Authorization}}`. With the " +
    "embedded gateway, `wsHost`/`wsPort` are the host and port this request reached.",
  responses: { ...ok(ClientConfigSchema, "pusher-js options"), ...errors(401) },
});

/** The realtime routes, mounted at `/api` after authentication (the webhook is public). */
export function realtimeRoutes(deps: RealtimeRouteDeps): OpenAPIHono<AppEnv> {
  const app = apiRouter();
  app.openAPIRegistry.register("PusherWebhook", WebhookBody);
  app.openapi(auth, async (c) => {
    const parsed = AuthBody.safeParse({ ...c.req.valid("json"), ...c.req.valid("form") });
    if (!parsed.success) throw new HttpError(400, describeZodError(parsed.error));
    const { socket_id: socketId, channel_name: channel } = parsed.data;
    const bindUser = deps.realtime.kind === "embedded";
    return c.json(
      await authorizeChannel(deps.kv, deps.pusher, c.var.user, { socketId, channel, bindUser }),
      200,
    );
  });
  app.openapi(userAuth, (c) => {
    const parsed = UserAuthBody.safeParse({ ...c.req.valid("json"), ...c.req.valid("form") });
    if (!parsed.success) throw new HttpError(400, describeZodError(parsed.error));
    return c.json(authenticateUser(deps.pusher, { user: c.var.user, socketId: parsed.data.socket_id }), 200);
  });
  app.openapi(webhook, async (c) => {
    const body = await c.req.text();
    const valid = verifyWebhook(deps.credentials, {
      key: c.req.header("X-Pusher-Key"),
      signature: c.req.header("X-Pusher-Signature"),
      body,
    });
    if (!valid) throw new HttpError(401, "Invalid webhook signature");
    const parsed = WebhookBody.safeParse(safeJson(body));
    if (!parsed.success) throw new HttpError(400, describeZodError(parsed.error));
    if (!isFreshWebhook(parsed.data.time_ms)) {
      throw new HttpError(401, "Webhook time_ms is more than 5 minutes from now (replayed?)");
    }
    await applyPresenceWebhook(deps.kv, parsed.data.events);
    return c.json({ ok: true }, 200);
  });
  app.openapi(config, (c) =>
    c.json(
      clientConfig(deps.realtime, deps.credentials.key, {
        url: c.req.url,
        host: c.req.header("Host"),
        forwardedProto: c.req.header("X-Forwarded-Proto"),
        serverPort: deps.serverPort(),
      }),
      200,
    ));
  return app;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
