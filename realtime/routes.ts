/**
 * @module Hono routes of the embedded gateway: the Pusher WebSocket endpoint and the
 * signed HTTP events API, at the paths pusher-js and npm:pusher use.
 */

import { Hono } from "hono";
import type { Gateway } from "./gateway.ts";

/**
 * Mounts `GET /app/:key` (WebSocket), `POST /apps/:appId/events` and
 * `POST /apps/:appId/batch_events`. A wrong key is refused as Pusher does: an upgrade is
 * accepted and closed with 4001, a plain request gets 404; a wrong app id gets 404.
 */
export function gatewayRoutes(
  gateway: Gateway,
  appKey: string,
  appId: string,
): Hono {
  const app = new Hono();
  app.get("/app/:key", (c) => {
    const key = c.req.param("key");
    const upgrade = c.req.header("upgrade")?.toLowerCase() === "websocket";
    if (key !== appKey && !upgrade) {
      return c.json({ error: `App key ${key} does not exist` }, 404);
    }
    return gateway.handleWebSocket(c.req.raw, key);
  });
  app.post("/apps/:appId/:endpoint{events|batch_events}", (c) => {
    const id = c.req.param("appId");
    if (id !== appId) return c.json({ error: `Unknown app ${id}` }, 404);
    return gateway.handleHttpApi(c.req.raw);
  });
  return app;
}
