/**
 * @module `GET /openapi.json` (OpenAPI 3.1 generated from the same zod schemas that
 * validate requests) and `GET /docs`, an interactive reference that needs no CDN.
 */
import type { OpenAPIHono } from "@hono/zod-openapi";
import { Hono } from "hono";
import type { AppEnv } from "../auth/middleware.ts";
import docsPage from "../web/docs.html" with { type: "text" };
import { ADMIN_ROUTES } from "./admin.ts";
import { CONTENT_SECURITY_POLICY } from "./web.ts";

/** The API version the document announces. */
export const API_VERSION = "1.0.0";

const DESCRIPTION = `
A chat backend on Deno: direct and group rooms with ordered, gap-free message sequences, unread
counts, read receipts, typing indicators, reactions, and realtime delivery over the Pusher protocol.

## Authentication

Every \`/api/*\` route except \`/api/dev/login\`, \`/api/pusher/webhook\` and the admin routes takes
\`Authorization: Bearer <JWT>\`. Tokens are HS256, signed with \`AUTH_JWT_SECRET\` (or RS256/ES256 from
\`AUTH_JWKS_URL\`), with the claims \`sub\` (user id), \`name\` and \`picture\` (avatar URL); \`exp\` is
enforced. A user exists once they have made an authenticated request. Admin routes take
\`X-Admin-Key: <ADMIN_API_KEY>\` instead and exist only when that variable is set (at least 16 characters).
With \`AUTH_JWKS_URL\` the server needs \`AUTH_AUDIENCE\` too (it refuses to boot without), so a token the
provider minted for another app does not log in.

## Demo mode

When \`AUTH_JWT_SECRET\` is unset the server runs in **demo mode**: it signs tokens with a generated
secret and enables \`POST /api/dev/login {userId, name}\`, which returns a token for anyone.
\`GET /healthz\` reports the mode. In this reference, "Log in" calls that route for you. On Deno Deploy
(\`DENO_DEPLOYMENT_ID\` set) demo mode needs \`DEMO=1\`: without auth configured the server refuses to
boot there. \`DEV_LOGIN=1\` enables the same route beside a real secret, with a loud warning at boot.

## Realtime

Clients receive events with the unmodified \`pusher-js\` client. \`GET /api/realtime/config\` returns its
options; \`POST /api/pusher/auth\` signs the private channels \`private-user-{userId}\` and
\`private-room-{roomId}\` (and \`presence-room-{roomId}\`) for their members. Without \`PUSHER_*\`
settings the server embeds a Pusher-protocol gateway on its own port (\`ws://host:PORT/app/{key}\`).

| channel | event | data |
|---|---|---|
| room | \`new-message\` | the \`Message\` |
| room | \`message-updated\`, \`message-deleted\`, \`reaction-updated\` | \`{roomId, seq, messageId, …}\` |
| room | \`message-read\` | \`{roomId, messageId, seq, readBy, readAt}\` |
| room | \`user-typing\` | \`{userId, userName, isTyping}\` |
| user | \`new-message\` | \`{message, roomId, unreadCount, totalUnread}\` |
| user | \`unread-updated\` | \`{roomId, unreadCount, totalUnread}\` |
| user | \`notification\` | the notification |

Access follows membership on open connections: when a member is removed or leaves, their connections get
nothing more from that room's channels, at once (before any later event of the room). The embedded
gateway drops the user's subscriptions to \`private-room-{id}\` and \`presence-room-{id}\` (pusher-js is not
told: subscribe again if you are added back); with Pusher Channels the server terminates the user's
connections, which reaches those that called \`pusher.signin()\` (\`POST /api/pusher/user-auth\`, the
\`userAuthEndpoint\` of the config), and pusher-js reconnects. Socket ids are random, so a signature for one
socket id admits no other connection.

The embedded gateway serves private and presence channels only, relays \`client-*\` events only with
\`PUSHER_CLIENT_EVENTS=1\` (at most 10 per second per connection; more get \`pusher:error\` 4301), holds at
most \`GATEWAY_MAX_CONNECTIONS\` (10,000) connections, \`GATEWAY_MAX_CONNECTIONS_PER_IP\` (100) per address
(4100 beyond either) and \`GATEWAY_MAX_SUBSCRIPTIONS\` (100) channels per connection, and closes a connection
that sends a frame over 16 KiB with close code 1009.

Durable events arrive at least once and in \`seq\` order per room; after a reconnect, fetch
\`GET /api/chat/messages?roomId=…&afterSeq=<last seq seen>\` to fill any gap (dedupe by \`seq\`).
An event over 10 KB arrives as \`{roomId, seq, messageId, truncated: true}\`.

## Errors

Every error body is \`{"error": "<human readable>"}\`. Invalid input is 400 with
\`"<field>: <problem>"\`; a missing or bad token is 401 \`{"error": "Unauthorized"}\`; bodies over 64 KB
are 413; a JSON route called without \`Content-Type: application/json\` is 415; sending over the rate
limit (\`RATE_LIMIT_SEND_PER_MIN\`, 10), or writing over \`RATE_LIMIT_WRITE_PER_MIN\` (60: edits, deletes,
reactions, group creation, member/role/room changes and \`/start\`, counted together), is 429 with a
\`Retry-After\` header (seconds). A room you were never a member of answers exactly like a room that does
not exist: \`404 {"error": "Room not found"}\`. Every response carries \`X-Content-Type-Options: nosniff\` and
\`Referrer-Policy: no-referrer\`, and \`Strict-Transport-Security\` over TLS.

## Identifiers

User and room ids match \`^[A-Za-z0-9_\\-=@,.;]{1,128}$\`; times are ISO 8601 UTC strings; fields are camelCase.
`.trim();

type OpenApiDocument = ReturnType<OpenAPIHono["getOpenAPI31Document"]>;

/**
 * Registers the security schemes the routes use and returns a function that builds
 * the OpenAPI 3.1 document of everything mounted on `app` (built once, on first use).
 */
export function openapiDocument(app: OpenAPIHono<AppEnv>): () => OpenApiDocument {
  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description: "A JWT with `sub`, `name` and `picture` claims (demo mode: from `POST /api/dev/login`)",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "adminKey", {
    type: "apiKey",
    in: "header",
    name: "X-Admin-Key",
    description: "The server's `ADMIN_API_KEY`",
  });
  app.openAPIRegistry.registerComponent("responses", "MalformedRequest", {
    description: "A malformed HTTP request (bad request line or headers, headers over the server's limit), " +
      "refused by the HTTP server itself before the app sees it: the body is empty. Any route can answer so; " +
      "it is listed where the route documents no 400 of its own.",
  });
  let document: OpenApiDocument | undefined;
  return () => {
    if (document) return document;
    documentAdminRoutes(app);
    const generated = app.getOpenAPI31Document({
      openapi: "3.1.0",
      info: { title: "durable-chat API", version: API_VERSION, description: DESCRIPTION },
      // Relative: the server that served this document, whatever name or proxy it was reached through.
      servers: [{ url: "/", description: "This server" }],
    });
    addMiddlewareResponses(generated);
    generated.tags = usedTags(generated);
    return document = generated;
  };
}

/** Mount point of the admin routes (app.ts). */
const ADMIN_BASE = "/api/admin";

/**
 * Adds the admin routes to the document when the admin API is off (`ADMIN_API_KEY` unset), so
 * the document is the same API whichever way the server runs; those routes then answer 404.
 */
function documentAdminRoutes(app: OpenAPIHono<AppEnv>): void {
  const mounted = app.openAPIRegistry.definitions.some((d) =>
    d.type === "route" && d.route.path.startsWith(`${ADMIN_BASE}/`)
  );
  if (mounted) return;
  for (const route of ADMIN_ROUTES) {
    app.openAPIRegistry.registerPath({ ...route, path: ADMIN_BASE + route.path });
  }
}

/** Tag descriptions, in the order the reference shows them. */
const TAGS: { name: string; description: string }[] = [
  { name: "Chat", description: "Rooms, messages, read positions, typing, groups" },
  {
    name: "Attachments",
    description:
      "Uploads: create one, PUT its bytes to the signed link, send it with `uploadId`; signed downloads",
  },
  { name: "Social", description: "Profiles, follows and blocks" },
  { name: "Notifications", description: "Social events: follows, being added to a group, …" },
  { name: "Me", description: "The caller's profile and preferences" },
  { name: "Realtime", description: "pusher-js options, channel authorization and presence webhooks" },
  { name: "Dev", description: "Demo-mode login" },
  { name: "Admin", description: "User provisioning behind `X-Admin-Key`" },
  { name: "Operations", description: "Health and metrics" },
];

type Responses = Record<string, unknown>;
type OperationObject = {
  security?: Record<string, string[]>[];
  requestBody?: unknown;
  responses?: Responses;
};

const ERROR_BODY = { content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } };

/**
 * Documents the answers that come from app-wide middleware or the HTTP server rather than
 * from a route: 401 from authentication on every bearer route, 413 from the body limit on
 * every `/api/*` route that takes a body, and the HTTP server's own 400 where a route has none.
 */
function addMiddlewareResponses(document: OpenApiDocument): void {
  for (const [path, item] of Object.entries(document.paths ?? {})) {
    for (const method of ["get", "post", "put", "patch", "delete"] as const) {
      const op = (item as Record<string, OperationObject | undefined>)[method];
      if (!op?.responses) continue;
      const bearer = (op.security ?? []).some((s) => "bearer" in s);
      if (bearer && !op.responses["401"]) {
        op.responses["401"] = {
          description: 'Missing, expired or invalid token: `{error: "Unauthorized"}`',
          ...ERROR_BODY,
        };
      }
      if (path.startsWith("/api/") && op.requestBody && !op.responses["413"]) {
        op.responses["413"] = { description: "Body larger than 64 KB", ...ERROR_BODY };
      }
      op.responses["400"] ??= { $ref: "#/components/responses/MalformedRequest" };
    }
  }
}

/** The declared tags that operations use, then any tag an operation uses without a description. */
function usedTags(document: OpenApiDocument): { name: string; description?: string }[] {
  const used = new Set<string>();
  for (const item of Object.values(document.paths ?? {})) {
    for (const op of Object.values(item as Record<string, { tags?: string[] }>)) {
      for (const tag of op?.tags ?? []) used.add(tag);
    }
  }
  const declared = TAGS.filter((tag) => used.has(tag.name));
  const rest = [...used].filter((name) => !TAGS.some((tag) => tag.name === name)).map((name) => ({ name }));
  return [...declared, ...rest];
}

/** `GET /openapi.json` and `GET /docs` for the routes mounted on `app`; mount at the root. */
export function openapiRoutes(app: OpenAPIHono<AppEnv>): Hono<AppEnv> {
  const document = openapiDocument(app);
  return new Hono<AppEnv>()
    .get("/openapi.json", (c) => c.json(document()))
    .get("/docs", (c) => {
      c.header("Cache-Control", "no-cache");
      c.header("Content-Security-Policy", CONTENT_SECURITY_POLICY);
      return c.html(docsPage);
    });
}
