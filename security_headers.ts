/**
 * @module Hardening headers on every response: `X-Content-Type-Options: nosniff`,
 * `Referrer-Policy: no-referrer`, and HSTS when the request came over TLS.
 */
import { createMiddleware } from "hono/factory";

/** One year: long enough that browsers keep using https between visits. */
export const HSTS = "max-age=31536000";

/**
 * Sets the headers after the handler ran (errors included). A request came over TLS when its
 * URL is `https:` or a proxy in front said so with `X-Forwarded-Proto: https`; HSTS is only
 * ever sent then, since browsers ignore it over plain http. WebSocket upgrades (101) keep the
 * runtime's own response untouched.
 */
export function securityHeaders() {
  return createMiddleware(async (c, next) => {
    await next();
    if (c.res.status === 101) return;
    const headers = c.res.headers;
    headers.set("X-Content-Type-Options", "nosniff");
    if (!headers.has("Referrer-Policy")) headers.set("Referrer-Policy", "no-referrer");
    const proto = c.req.header("X-Forwarded-Proto")?.split(",")[0]?.trim().toLowerCase();
    if (proto === "https" || new URL(c.req.url).protocol === "https:") {
      headers.set("Strict-Transport-Security", HSTS);
    }
  });
}
