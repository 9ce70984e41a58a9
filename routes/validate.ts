/**
 * @module Request validation at the edge: every zod failure becomes
 * `HttpError(400, "<field>: <problem>")`, and every route documents its errors.
 */
import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { ZodError } from "zod";
import { HttpError } from "../http_error.ts";
import { ErrorSchema } from "./schemas.ts";
import type { AppEnv } from "../auth/middleware.ts";

/** The first problem of a failed validation, as `"<field>: <problem>"`. */
export function describeZodError(error: ZodError): string {
  const issue = error.issues[0];
  if (!issue) return "Invalid request";
  const field = issue.path.map(String).join(".") || "body";
  return `${field}: ${issue.message}`;
}

/** A Hono sub-app whose routes validate with zod and answer failures with 400 `{error}`. */
export function apiRouter(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) throw new HttpError(400, describeZodError(result.error as ZodError));
    },
  });
}

/** A JSON request body for `createRoute`. */
export function jsonBody<T extends z.ZodType>(schema: T) {
  return { body: { content: { "application/json": { schema } }, required: true } };
}

/** A JSON 200 response for `createRoute`. */
export function ok<T extends z.ZodType>(schema: T, description: string) {
  return { 200: { content: { "application/json": { schema } }, description } };
}

/** Documented error responses, by status. */
export function errors(...statuses: (400 | 401 | 403 | 404 | 409 | 413 | 415 | 429 | 503)[]) {
  const text: Record<number, string> = {
    400: 'Invalid input: `{error: "<field>: <problem>"}`',
    401: 'Missing, expired or invalid token: `{error: "Unauthorized"}`',
    403: "Not allowed (for example, not a member of the room)",
    404: "No such resource",
    409: "Conflicts with the current state",
    413: "Body larger than 64 KB",
    415: "Body without `Content-Type: application/json`",
    429: "Rate limited; see `Retry-After` (seconds)",
    503: "Contended or shutting down; retry",
  };
  return Object.fromEntries(
    statuses.map((
      s,
    ) => [s, { content: { "application/json": { schema: ErrorSchema } }, description: text[s]! }]),
  );
}
