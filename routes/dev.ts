/** @module `POST /api/dev/login`: tokens for anyone, in demo mode or with `DEV_LOGIN=1`. */
import { createRoute } from "@hono/zod-openapi";
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../auth/middleware.ts";
import type { UserStore } from "../storage/users.ts";
import { DevLoginBody, TokenResponse } from "./schemas.ts";
import { apiRouter, errors, jsonBody, ok } from "./validate.ts";

/** Demo tokens live a week. */
const TOKEN_TTL_SECONDS = 7 * 24 * 3600;

const login = createRoute({
  operationId: "devLogin",
  method: "post",
  path: "/login",
  tags: ["Dev"],
  security: [],
  summary: "Get a token for any user (demo mode only)",
  description:
    "Enabled when `AUTH_JWT_SECRET` is unset (demo mode) or `DEV_LOGIN=1`. Creates or updates the user.",
  request: jsonBody(DevLoginBody),
  responses: { ...ok(TokenResponse, "A bearer token valid for 7 days"), ...errors(400, 404, 415) },
});

/** The dev login route, mounted at `/api/dev` only when dev login is enabled. */
export function devRoutes(
  deps: {
    users: UserStore;
    sign: (claims: { sub: string; name: string; picture?: string }, ttlSeconds: number) => Promise<string>;
  },
): OpenAPIHono<AppEnv> {
  return apiRouter().openapi(login, async (c) => {
    const { userId, name, avatar } = c.req.valid("json");
    await deps.users.upsert({ id: userId, name, ...(avatar !== undefined ? { avatar } : {}) });
    const token = await deps.sign(
      { sub: userId, name, ...(avatar ? { picture: avatar } : {}) },
      TOKEN_TTL_SECONDS,
    );
    return c.json({ token }, 200);
  });
}
