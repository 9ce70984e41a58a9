/**
 * @module The browser client: `GET /`, `/web/*`, `/common/*` and the SDK's modules at `/client/*`
 * (routes/client_modules.ts), plus pusher-js's browser build from
 * the pinned npm package. Every file is imported as text, so it ships inside the module
 * graph (nothing is read from disk at runtime) and works unchanged on Deno Deploy.
 */
import { type Context, Hono } from "hono";
import type { AppEnv } from "../auth/middleware.ts";
import pusherJs from "pusher-js/dist/web/pusher.min.js" with { type: "text" };
import indexHtml from "../web/index.html" with { type: "text" };
import appJs from "../web/app.js" with { type: "text" };
import apiJs from "../web/api.js" with { type: "text" };
import storeJs from "../web/store.js" with { type: "text" };
import storeRoomJs from "../web/store_room.js" with { type: "text" };
import syncJs from "../web/sync.js" with { type: "text" };
import syncEventsJs from "../web/sync_events.js" with { type: "text" };
import uploadsJs from "../web/uploads.js" with { type: "text" };
import viewJs from "../web/view.js" with { type: "text" };
import viewComposerJs from "../web/view_composer.js" with { type: "text" };
import viewConversationJs from "../web/view_conversation.js" with { type: "text" };
import viewDialogsJs from "../web/view_dialogs.js" with { type: "text" };
import viewLoginJs from "../web/view_login.js" with { type: "text" };
import viewMenuJs from "../web/view_menu.js" with { type: "text" };
import viewMessageJs from "../web/view_message.js" with { type: "text" };
import viewMessagesJs from "../web/view_messages.js" with { type: "text" };
import viewNotificationsJs from "../web/view_notifications.js" with { type: "text" };
import viewProfileJs from "../web/view_profile.js" with { type: "text" };
import viewRoomsJs from "../web/view_rooms.js" with { type: "text" };
import viewSearchJs from "../web/view_search.js" with { type: "text" };
import viewShellJs from "../web/view_shell.js" with { type: "text" };
import docsJs from "../web/docs.js" with { type: "text" };
import docsMarkdownJs from "../web/docs_markdown.js" with { type: "text" };
import docsOperationsJs from "../web/docs_operations.js" with { type: "text" };
import docsSchemaJs from "../web/docs_schema.js" with { type: "text" };
import docsTryJs from "../web/docs_try.js" with { type: "text" };
import stylesCss from "../web/styles.css" with { type: "text" };
import layoutCss from "../web/layout.css" with { type: "text" };
import messagesCss from "../web/messages.css" with { type: "text" };
import composerCss from "../web/composer.css" with { type: "text" };
import overlaysCss from "../web/overlays.css" with { type: "text" };
import phoneCss from "../web/phone.css" with { type: "text" };
import docsCss from "../web/docs.css" with { type: "text" };
import faviconSvg from "../web/favicon.svg" with { type: "text" };
import channelsJs from "../common/channels.js" with { type: "text" };
import previewJs from "../common/preview.js" with { type: "text" };
import { clientModules } from "./client_modules.ts";

const JS = "text/javascript; charset=utf-8";
const CSS = "text/css; charset=utf-8";

/** The client's files by path: `/web/*`, and `/common/*` (modules the server imports too). */
const FILES: Record<string, { body: string; type: string }> = {
  "/web/app.js": { body: appJs, type: JS },
  "/web/api.js": { body: apiJs, type: JS },
  "/web/store.js": { body: storeJs, type: JS },
  "/web/store_room.js": { body: storeRoomJs, type: JS },
  "/web/sync.js": { body: syncJs, type: JS },
  "/web/sync_events.js": { body: syncEventsJs, type: JS },
  "/web/uploads.js": { body: uploadsJs, type: JS },
  "/web/view.js": { body: viewJs, type: JS },
  "/web/view_composer.js": { body: viewComposerJs, type: JS },
  "/web/view_conversation.js": { body: viewConversationJs, type: JS },
  "/web/view_dialogs.js": { body: viewDialogsJs, type: JS },
  "/web/view_login.js": { body: viewLoginJs, type: JS },
  "/web/view_menu.js": { body: viewMenuJs, type: JS },
  "/web/view_message.js": { body: viewMessageJs, type: JS },
  "/web/view_messages.js": { body: viewMessagesJs, type: JS },
  "/web/view_notifications.js": { body: viewNotificationsJs, type: JS },
  "/web/view_profile.js": { body: viewProfileJs, type: JS },
  "/web/view_rooms.js": { body: viewRoomsJs, type: JS },
  "/web/view_search.js": { body: viewSearchJs, type: JS },
  "/web/view_shell.js": { body: viewShellJs, type: JS },
  "/web/docs.js": { body: docsJs, type: JS },
  "/web/docs_markdown.js": { body: docsMarkdownJs, type: JS },
  "/web/docs_operations.js": { body: docsOperationsJs, type: JS },
  "/web/docs_schema.js": { body: docsSchemaJs, type: JS },
  "/web/docs_try.js": { body: docsTryJs, type: JS },
  "/web/styles.css": { body: stylesCss, type: CSS },
  "/web/layout.css": { body: layoutCss, type: CSS },
  "/web/messages.css": { body: messagesCss, type: CSS },
  "/web/composer.css": { body: composerCss, type: CSS },
  "/web/overlays.css": { body: overlaysCss, type: CSS },
  "/web/phone.css": { body: phoneCss, type: CSS },
  "/web/docs.css": { body: docsCss, type: CSS },
  "/web/favicon.svg": { body: faviconSvg, type: "image/svg+xml" },
  "/web/vendor/pusher.min.js": { body: stripSourceMap(pusherJs), type: JS },
  "/common/channels.js": { body: channelsJs, type: JS },
  "/common/preview.js": { body: previewJs, type: JS },
  ...Object.fromEntries(Object.entries(clientModules()).map(([path, body]) => [path, { body, type: JS }])),
};

/** Weak validators, one per file, so reloads revalidate cheaply. */
const ETAGS = new Map(Object.entries(FILES).map(([name, file]) => [name, `W/"${fnv1a(file.body)}"`]));

/**
 * What pages may load: only this server's scripts and styles; images (avatars, attachment
 * links) from anywhere; API calls and Pusher sockets to this server or a hosted Pusher cluster.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' https: http: data:",
  "connect-src 'self' https: wss: ws:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

/** `GET /` (the client) and `GET /web/*` (its modules, styles and pusher-js). */
export function webRoutes(): Hono<AppEnv> {
  return new Hono<AppEnv>()
    .get("/", (c) => {
      c.header("Cache-Control", "no-cache");
      c.header("Content-Security-Policy", CONTENT_SECURITY_POLICY);
      c.header("Referrer-Policy", "no-referrer");
      return c.html(indexHtml);
    })
    .get("/favicon.ico", (c) => c.redirect("/web/favicon.svg", 301))
    .get("/web/*", serveFile)
    .get("/common/*", serveFile)
    .get("/client/*", serveFile);
}

function serveFile(c: Context<AppEnv>): Response {
  const file = FILES[c.req.path];
  if (!file) return c.json({ error: "Not found" }, 404);
  const etag = ETAGS.get(c.req.path)!;
  c.header("ETag", etag);
  c.header("Cache-Control", "no-cache");
  if (c.req.header("If-None-Match") === etag) return c.body(null, 304);
  c.header("Content-Type", file.type);
  return c.body(file.body);
}

/** The minified build points at a `.map` file we do not serve; drop the reference. */
function stripSourceMap(source: string): string {
  return source.replace(/\n\/\/# sourceMappingURL=\S+\s*$/, "\n");
}

/** 32-bit FNV-1a of a string, in hex: enough to tell versions of a file apart. */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(16).padStart(8, "0") + text.length.toString(16);
}
