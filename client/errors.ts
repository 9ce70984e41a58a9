/** @module The errors the SDK rejects with: an answer of the API, no answer at all, or a closed client. */

/** The API answered with an error status; `message` is its `{error}`. */
export class ChatApiError extends Error {
  override name = "ChatApiError";
  /** The HTTP status. */
  readonly status: number;
  /** `Retry-After` in milliseconds, when the server sent one (429, 503). */
  readonly retryAfterMs?: number;

  constructor(status: number, message: string, retryAfterMs?: number) {
    super(message);
    this.status = status;
    if (retryAfterMs !== undefined) this.retryAfterMs = retryAfterMs;
  }
}

/** No answer: the request failed on the network (offline, refused, reset). */
export class ChatNetworkError extends Error {
  override name = "ChatNetworkError";
}

/** The client was closed before the call finished. */
export class ChatClosedError extends Error {
  override name = "ChatClosedError";
  constructor() {
    super("The chat client is closed");
  }
}

/** Whether trying again may succeed: no answer, a 5xx, or 429. */
export function isRetryable(error: unknown): boolean {
  if (error instanceof ChatNetworkError) return true;
  return error instanceof ChatApiError && (error.status >= 500 || error.status === 429);
}
