/** @module One call of a REST operation by its operationId, through the HTTP layer. */
import type { HttpClient } from "./http.ts";
import { type CallInput, type OperationId, type Result, ROUTES } from "./routes.ts";

/**
 * Calls one operation and returns its documented success body.
 *
 * @throws {ChatApiError} for an error status; {ChatNetworkError} without an answer.
 */
export async function call<Id extends OperationId>(
  http: HttpClient,
  id: Id,
  input: CallInput<Id> = {},
): Promise<Result<Id>> {
  const [method, template] = ROUTES[id];
  const params = (input.path ?? {}) as Record<string, string>;
  const path = template.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(params[name] ?? ""));
  const query = input.query as Record<string, string | number | boolean | undefined> | undefined;
  return await http.request(method.toUpperCase(), path, { query, body: input.body }) as Result<Id>;
}
