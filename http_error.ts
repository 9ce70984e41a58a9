/** @module The one error type that maps to an HTTP response, and that mapping. */
import type { ContentfulStatusCode } from "hono/utils/http-status";

/** An error the client caused or can act on; `status` and `message` reach the client as `{error}`. */
export class HttpError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    message: string,
    readonly headers?: Record<string, string>,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "HttpError";
  }
}
