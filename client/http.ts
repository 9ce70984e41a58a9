/**
 * @module One HTTP call to the API: the bearer token (asked again once after a 401), JSON in
 * and out, and every failure as a ChatApiError, ChatNetworkError or ChatClosedError.
 */
import { ChatApiError, ChatClosedError, ChatNetworkError } from "./errors.ts";
import { parseRetryAfter } from "./retry.ts";
import type { TokenSource } from "./types.ts";

/** Query values; `undefined` ones are left out. */
export type QueryValues = Record<string, string | number | boolean | undefined>;

/** What the HTTP layer needs. */
export interface HttpOptions {
  /** The server's origin, with a path prefix when it is mounted under one. */
  baseUrl: string;
  token: TokenSource;
  fetch?: typeof fetch;
  /** Aborts every call in flight (the client is closing). */
  signal: AbortSignal;
}

/** Calls the API with the caller's token. */
export class HttpClient {
  readonly #options: HttpOptions;
  readonly #base: string;
  #token: Promise<string> | undefined;

  constructor(options: HttpOptions) {
    this.#options = options;
    this.#base = options.baseUrl.replace(/\/+$/, "");
  }

  /**
   * Sends one request and returns the JSON of a 2xx answer. After a 401, a token function is
   * asked once for a new token and the request is sent once more.
   *
   * @throws {ChatApiError} for an error status; {ChatNetworkError} without an answer;
   * {ChatClosedError} once the client is closed.
   */
  async request(
    method: string,
    path: string,
    input: { query?: QueryValues; body?: unknown } = {},
  ): Promise<unknown> {
    const token = await this.token();
    let res = await this.#send(method, path, input, token);
    if (res.status === 401 && typeof this.#options.token === "function") {
      await res.body?.cancel();
      res = await this.#send(method, path, input, await this.#refresh(token));
    }
    return await read(res);
  }

  /** The current token (asks a token function on first use). */
  token(): Promise<string> {
    const source = this.#options.token;
    if (typeof source === "string") return Promise.resolve(source);
    return this.#token ?? this.#fetchToken(source);
  }

  #fetchToken(source: () => string | Promise<string>): Promise<string> {
    const pending = Promise.resolve().then(source).then((token) => {
      if (typeof token !== "string" || token === "") throw new TypeError("token() gave no token");
      return token;
    });
    this.#token = pending;
    // A failed fetch is not kept: the next call asks again.
    pending.catch(() => {
      if (this.#token === pending) this.#token = undefined;
    });
    return pending;
  }

  /** A token other than `stale`: one refresh for every call that got a 401 with the same token. */
  async #refresh(stale: string): Promise<string> {
    const source = this.#options.token;
    if (typeof source === "string") return source;
    const latest = this.#token;
    if (latest) {
      const value = await latest.catch(() => undefined);
      if (value !== undefined && value !== stale) return value;
      if (this.#token !== latest) return await this.token();
    }
    return await this.#fetchToken(source);
  }

  async #send(
    method: string,
    path: string,
    input: { query?: QueryValues; body?: unknown },
    token: string,
  ): Promise<Response> {
    const query = new URLSearchParams();
    for (const [name, value] of Object.entries(input.query ?? {})) {
      if (value !== undefined) query.set(name, String(value));
    }
    const url = `${this.#base}${path}${query.size ? `?${query}` : ""}`;
    const headers: Record<string, string> = { Authorization: `Bearer ${token}`, Accept: "application/json" };
    if (input.body !== undefined) headers["Content-Type"] = "application/json";
    const { signal } = this.#options;
    if (signal.aborted) throw new ChatClosedError();
    try {
      return await (this.#options.fetch ?? fetch)(url, {
        method,
        headers,
        body: input.body === undefined ? undefined : JSON.stringify(input.body),
        signal,
      });
    } catch (error) {
      if (signal.aborted) throw new ChatClosedError();
      throw new ChatNetworkError(`${method} ${path}: ${error instanceof Error ? error.message : error}`, {
        cause: error,
      });
    }
  }
}

/** The JSON of a 2xx answer (undefined when it has none), or the answer as a ChatApiError. */
export async function read(res: Response): Promise<unknown> {
  let text: string;
  try {
    text = await res.text();
  } catch (error) {
    throw new ChatNetworkError(`reading the answer (${res.status}) failed`, { cause: error });
  }
  const json = res.headers.get("Content-Type")?.includes("json") ? parseJson(text) : undefined;
  if (res.ok) return json;
  const message = typeof (json as { error?: unknown })?.error === "string"
    ? (json as { error: string }).error
    : `HTTP ${res.status}`;
  throw new ChatApiError(res.status, message, parseRetryAfter(res.headers.get("Retry-After")));
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
