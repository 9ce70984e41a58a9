/**
 * @module `GET /admin` and `/admin/*`: the operator console, its own page and modules (no build
 * step, nothing shared with the chat client), imported as text so they ship inside the module graph.
 * The page itself is public; everything it shows comes from `/api/admin/*` with the admin key.
 */
import { type Context, Hono } from "hono";
import type { AppEnv } from "../auth/middleware.ts";
import indexHtml from "../web/admin/index.html" with { type: "text" };
import adminCss from "../web/admin/admin.css" with { type: "text" };
import apiJs from "../web/admin/api.js" with { type: "text" };
import chartsJs from "../web/admin/charts.js" with { type: "text" };
import domJs from "../web/admin/dom.js" with { type: "text" };
import mainJs from "../web/admin/main.js" with { type: "text" };
import viewBrowseJs from "../web/admin/view_browse.js" with { type: "text" };
import viewChartsJs from "../web/admin/view_charts.js" with { type: "text" };
import viewOutboxJs from "../web/admin/view_outbox.js" with { type: "text" };
import viewTailJs from "../web/admin/view_tail.js" with { type: "text" };
import { CONTENT_SECURITY_POLICY } from "./web.ts";

const JS = "text/javascript; charset=utf-8";

const FILES: Record<string, { body: string; type: string }> = {
  "/admin/admin.css": { body: adminCss, type: "text/css; charset=utf-8" },
  "/admin/api.js": { body: apiJs, type: JS },
  "/admin/charts.js": { body: chartsJs, type: JS },
  "/admin/dom.js": { body: domJs, type: JS },
  "/admin/main.js": { body: mainJs, type: JS },
  "/admin/view_browse.js": { body: viewBrowseJs, type: JS },
  "/admin/view_charts.js": { body: viewChartsJs, type: JS },
  "/admin/view_outbox.js": { body: viewOutboxJs, type: JS },
  "/admin/view_tail.js": { body: viewTailJs, type: JS },
};

/** The console's routes; mount at the root. */
export function adminWebRoutes(): Hono<AppEnv> {
  return new Hono<AppEnv>()
    .get("/admin", (c) => {
      c.header("Cache-Control", "no-cache");
      c.header("Content-Security-Policy", CONTENT_SECURITY_POLICY);
      return c.html(indexHtml);
    })
    .get("/admin/*", serveFile);
}

function serveFile(c: Context<AppEnv>): Response {
  const file = FILES[c.req.path];
  if (!file) return c.json({ error: "Not found" }, 404);
  c.header("Cache-Control", "no-cache");
  c.header("Content-Type", file.type);
  return c.body(file.body);
}
