/**
 * @module Unmodified `pusher-js` clients of a test server: connected with the
 * server's own client config and authorization endpoints, and the small waits
 * the realtime tests share.
 */
// The worker build of pusher-js runs on the global WebSocket and fetch, as in a browser.
import * as pusherJs from "pusher-js/worker/index.js";
import type { Channel } from "pusher-js/worker/index.js";
import { eventually, type OutboxServer } from "./outbox_harness.ts";

// Deno types this CommonJS default export as the whole module; at runtime it is the class.
export const PusherClient = pusherJs.default as unknown as typeof pusherJs.default.default;
export type PusherClient = pusherJs.default;

/** How long a wait may take before the test fails (server processes under a loaded suite need the margin). */
const WAIT_MS = 15_000;

/**
 * An unmodified pusher-js client configured from GET /api/realtime/config, authorizing channels
 * through our endpoint and signing in through `userAuthEndpoint` (as the web client does).
 */
export async function connect(
  t: OutboxServer,
  userId: string,
  clients: PusherClient[],
  options: { signin?: boolean } = {},
): Promise<PusherClient> {
  const token = await t.login(userId);
  const config = await t.ok<Record<string, unknown>>(userId, "GET", "/api/realtime/config");
  const headers = { Authorization: `Bearer ${token}` };
  const client = new PusherClient(
    config.key as string,
    {
      ...config,
      disableStats: true,
      channelAuthorization: { endpoint: config.authEndpoint as string, transport: "ajax", headers },
      userAuthentication: { endpoint: config.userAuthEndpoint as string, transport: "ajax", headers },
    } as ConstructorParameters<typeof PusherClient>[1],
  );
  clients.push(client);
  await within(`${userId} connected`, (resolve) => client.connection.bind("connected", resolve));
  if (options.signin) {
    const signedIn = within(
      `${userId} signed in`,
      (resolve) => client.bind("pusher:signin_success", resolve),
    );
    client.signin();
    await signedIn;
  }
  return client;
}

/**
 * Pings over the client's socket and waits for the pong: the server answers in order, so every
 * event it sent before has been handled by then.
 */
export function drained(client: PusherClient): Promise<void> {
  return within("pusher:pong", (resolve) => {
    const onMessage = (event: { event: string }) => {
      if (event.event !== "pusher:pong") return;
      client.connection.unbind("message", onMessage);
      resolve();
    };
    client.connection.bind("message", onMessage);
    client.connection.send_event("pusher:ping", {});
  });
}

/** Records every event of one name on a channel. */
export function record<T = Record<string, unknown>>(channel: Channel, event: string): T[] {
  const seen: T[] = [];
  channel.bind(event, (data: T) => seen.push(data));
  return seen;
}

export function within<T = void>(label: string, bind: (resolve: (value: T) => void) => void): Promise<T> {
  const { promise, resolve, reject } = Promise.withResolvers<T>();
  const timer = setTimeout(() => reject(new Error(`Timed out waiting for ${label}`)), WAIT_MS);
  bind(resolve);
  return promise.finally(() => clearTimeout(timer));
}

export function subscribe<C extends Channel = Channel>(client: PusherClient, name: string): Promise<C> {
  const channel = client.subscribe(name) as C;
  return within(
    `subscription to ${name}`,
    (resolve) => channel.bind("pusher:subscription_succeeded", () => resolve(channel)),
  );
}

export function refused(client: PusherClient, name: string): Promise<{ status: number }> {
  const channel = client.subscribe(name);
  return within(`refusal of ${name}`, (resolve) => channel.bind("pusher:subscription_error", resolve));
}

export function next<T = Record<string, unknown>>(channel: Channel, event: string): Promise<T> {
  return within(`${event} on ${channel.name}`, (resolve) => channel.bind(event, resolve));
}

export async function closeAll(t: OutboxServer, clients: PusherClient[]): Promise<void> {
  for (const client of clients) client.disconnect();
  await eventually(() => t.runtime.gateway!.stats().connections === 0, "sockets to close");
}
