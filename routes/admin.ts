/** @module `/api/admin/*`: user provisioning, behind `X-Admin-Key`. */
import { createRoute, z } from "@hono/zod-openapi";
import type { OpenAPIHono } from "@hono/zod-openapi";
import { timingSafeEqual } from "node:crypto";
import type { AppEnv } from "../auth/middleware.ts";
import { HttpError } from "../http_error.ts";
import type { UserStore } from "../storage/users.ts";
import { Id, ProvisionBody, UserSchema } from "./schemas.ts";
import { apiRouter, errors, jsonBody, ok } from "./validate.ts";
import { ADMIN_OFF } from "./admin_schemas.ts";
import { addBrowseRoutes, BROWSE_ROUTES } from "./admin_browse.ts";
import { addOperatorRoutes, OPERATOR_ROUTES, type OperatorDeps } from "./admin_ops.ts";

const provision = createRoute({
  operationId: "provisionUser",
  method: "put",
  path: "/users/{id}",
  tags: ["Admin"],
  security: [{ adminKey: [] }],
  summary: "Create or update a user",
  description: "Provisions a user before their first sign-in (their profile is otherwise upserted from " +
    "their token's claims). The admin API exists only when `ADMIN_API_KEY` is set (at least 16 characters).",
  request: { params: z.object({ id: Id }), ...jsonBody(ProvisionBody) },
  responses: {
    ...ok(UserSchema, "The user as stored"),
    ...errors(400, 401, 415),
    ...ADMIN_OFF,
  },
});

/**
 * The admin routes' definitions, paths relative to `/api/admin`: the OpenAPI document shows
 * them also when the admin API is off.
 */
export const ADMIN_ROUTES = [provision, ...OPERATOR_ROUTES, ...BROWSE_ROUTES];

/** The admin routes, mounted at `/api/admin` only when `ADMIN_API_KEY` is set. */
export function adminRoutes(
  deps: { users: UserStore; adminApiKey: string; operators: OperatorDeps },
): OpenAPIHono<AppEnv> {
  const app = apiRouter();
  app.use("*", async (c, next) => {
    if (!sameSecret(c.req.header("X-Admin-Key") ?? "", deps.adminApiKey)) {
      throw new HttpError(401, "Unauthorized");
    }
    await next();
  });
  app.openapi(provision, async (c) => {
    const { name, avatar } = c.req.valid("json");
    const user = await deps.users.upsert({
      id: c.req.valid("param").id,
      name,
      ...(avatar !== undefined ? { avatar } : {}),
    });
    return c.json({
      id: user.id,
      name: user.name,
      avatar: user.avatar,
      createdAt: new Date(user.createdAt).toISOString(),
      updatedAt: new Date(user.updatedAt).toISOString(),
    }, 200);
  });
  addOperatorRoutes(app, deps.operators);
  return addBrowseRoutes(app, { kv: deps.operators.kv, users: deps.users });
}

function sameSecret(given: string, expected: string): boolean {
  const a = new TextEncoder().encode(given);
  const b = new TextEncoder().encode(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
