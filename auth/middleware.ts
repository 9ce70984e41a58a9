/** @module Bearer-token authentication: sets `c.var.user` or answers 401. */
import { createMiddleware } from "hono/factory";
import { HttpError } from "../http_error.ts";
import type { Profile } from "../storage/records.ts";
import { toProfile, type UserStore } from "../storage/users.ts";
import type { Verifier } from "./jwt.ts";

/** Variables set on authenticated requests. */
export interface AppEnv {
  Variables: { user: Profile };
}

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/**
 * Verifies the bearer token and upserts the caller's profile from its claims.
 *
 * @throws {HttpError} 401 `Unauthorized` for a missing, malformed, expired or foreign token.
 */
export function requireUser(verify: Verifier, users: UserStore) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const token = BEARER.exec(c.req.header("Authorization") ?? "")?.[1];
    const claims = token ? await verify(token) : null;
    if (!claims) throw new HttpError(401, "Unauthorized", { "WWW-Authenticate": "Bearer" });
    const user = await users.upsert({ id: claims.sub, name: claims.name, avatar: claims.picture });
    c.set("user", toProfile(user));
    await next();
  });
}
