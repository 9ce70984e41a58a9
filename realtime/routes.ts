/**
 * @module Hono routes of the embedded gateway: the Pusher WebSocket endpoint and the
 * signed HTTP events API, at the paths pusher-js and npm:pusher use.
 */

import { type Context, Hono } from "hono";
import type { Gateway } from "./gateway_api.ts";

/**
 * Mounts `GET /app/:key` (WebSocket), `POST /apps/:appId/events`,
 * `POST /apps/:appId/batch_events` and `POST /apps/:appId/users/:userId/terminate_connections`
 * (WebSocket upgrades wait for `options.ready`). A wrong key is refused as Pusher does: an upgrade is
 * accepted and closed with 4001, a plain request gets 404; a wrong app id gets 404.
 */
export function gatewayRoutes(
  gateway: Gateway,
  appKey: string,
  appId: string,
  options: { ready?: () => Promise<void> } = {},
): Hono {
  const app = new Hono();
  app.get("/app/:key", async (c) => {
    // Sockets are accepted once the other processes' gateways publish to this one too.
    await options.ready?.();
    const key = c.req.param("key");
    const upgrade = c.req.header("upgrade")?.toLowerCase() === "websocket";
    if (key !== appKey && !upgrade) {
      return c.json({ error: `App key ${key} does not exist` }, 404);
    }
    // Deno.serve passes its connection info as the env (absent for in-process app.request()).
    const remote = (c.env as { remoteAddr?: Deno.NetAddr } | undefined)?.remoteAddr;
    return gateway.handleWebSocket(c.req.raw, key, { remoteAddress: remote?.hostname });
  });
  const api = (c: Context) => {
    const id = c.req.param("appId");
    if (id !== appId) return c.json({ error: `Unknown app ${id}` }, 404);
    return gateway.handleHttpApi(c.req.raw);
  };
  app.post("/apps/:appId/:endpoint{events|batch_events}", api);
  app.post("/apps/:appId/users/:userId/terminate_connections", api);
  return app;
}
