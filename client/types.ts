/**
 * @module The SDK's own public types that are not the API's (those come from `api_types.ts`
 * through `routes.ts`): tokens, retry policy, and what the SDK uses of pusher-js.
 */

/** A bearer token, or a function that gets a current one (asked again once after a 401). */
export type TokenSource = string | (() => string | Promise<string>);

/** How retries back off. */
export interface RetryPolicy {
  /** First backoff ceiling (ms); it doubles with each attempt. */
  baseDelayMs: number;
  /** Longest backoff between two attempts (ms); a `Retry-After` is waited out in full. */
  maxDelayMs: number;
  /** Attempts that got an answer (5xx, 429) before giving up; network failures do not count. */
  maxAttempts: number;
}

/** What the SDK uses of a pusher-js channel. */
export interface PusherChannel {
  subscribed: boolean;
  bind(event: string, callback: (data: unknown) => void): unknown;
  bind_global(callback: (event: string, data: unknown) => void): unknown;
}

/** What the SDK uses of a pusher-js client. */
export interface PusherClient {
  connection: {
    socket_id?: string;
    state: string;
    bind(event: string, callback: (data: unknown) => void): unknown;
  };
  subscribe(channel: string): PusherChannel;
  unsubscribe(channel: string): void;
  signin(): void;
  disconnect(): void;
}

/** The pusher-js `Pusher` class, or anything built like it (pusher-js's builds for each platform). */
export type PusherConstructor = new (key: string, options: Record<string, unknown>) => PusherClient;
