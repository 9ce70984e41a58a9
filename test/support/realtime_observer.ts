/**
 * @module A Pusher-protocol gateway that outlives the servers under test, and
 * a `pusher-js` client subscribed to room channels on it, recording every
 * `new-message`. Servers publish to it with `PUSHER_HOST`/`PUSHER_PORT`
 * (`observerEnv()`), so a crashed server's events can still be observed once
 * another process drains its outbox.
 */
import PusherServer from "pusher";
import * as pusherJs from "pusher-js/worker/index.js";
import { createGateway } from "../../realtime/gateway.ts";
import { gatewayRoutes } from "../../realtime/routes.ts";

// Deno types this CommonJS default export as the whole module; at runtime it is the class.
const PusherClient = pusherJs.default as unknown as typeof pusherJs.default.default;
type PusherClient = pusherJs.default;

const APP = { appId: "observer-app", key: "observer-key", secret: "observer-secret-0123456789" };

/** One `new-message` as observed on a room channel. */
export interface Observed {
  roomId: string;
  seq: number;
  id: string;
  at: number;
}

/** One `notification` as observed on a user channel. */
export interface ObservedNotification {
  userId: string;
  id: string;
  type: string;
}

/** The gateway, its subscriber and what it saw. */
export interface RealtimeObserver extends AsyncDisposable {
  port: number;
  /** Server environment that publishes to this gateway. */
  env: Record<string, string>;
  /** Subscribes to `private-room-{roomId}` for each room; resolves once all are subscribed. */
  watchRooms(roomIds: string[]): Promise<void>;
  /** Subscribes to `private-user-{userId}` for each user, recording `notification` events. */
  watchUsers(userIds: string[]): Promise<void>;
  /** Every `new-message` seen so far, in arrival order. */
  observed: Observed[];
  /** Every `notification` seen so far, in arrival order. */
  notifications: ObservedNotification[];
  /** Resolves once `done()` holds, or rejects after `timeoutMs`. */
  waitFor(done: () => boolean, timeoutMs: number, what: string): Promise<number>;
}

/** Starts the gateway on a free port and connects the subscriber. */
export async function startObserver(): Promise<RealtimeObserver> {
  const gateway = createGateway({ ...APP, onWebhook: () => {} });
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen: () => {} },
    gatewayRoutes(gateway, APP.key, APP.appId).fetch,
  ) as Deno.HttpServer<Deno.NetAddr>;
  const port = server.addr.port;
  const signer = new PusherServer({ ...APP, host: "127.0.0.1", port: String(port), useTLS: false });
  const client: PusherClient = new PusherClient(APP.key, {
    cluster: "local",
    wsHost: "127.0.0.1",
    wsPort: port,
    forceTLS: false,
    enabledTransports: ["ws"],
    disableStats: true,
    channelAuthorization: {
      customHandler: ({ socketId, channelName }, callback) =>
        callback(null, signer.authorizeChannel(socketId, channelName)),
    },
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("observer did not connect")), 10_000);
    client.connection.bind("connected", () => {
      clearTimeout(timer);
      resolve();
    });
  });
  const observed: Observed[] = [];
  const notifications: ObservedNotification[] = [];
  const subscribe = (channelName: string, bind: (channel: ReturnType<PusherClient["subscribe"]>) => void) =>
    new Promise<void>((resolve, reject) => {
      const channel = client.subscribe(channelName);
      const timer = setTimeout(() => reject(new Error(`subscribing to ${channelName} timed out`)), 10_000);
      channel.bind("pusher:subscription_succeeded", () => {
        clearTimeout(timer);
        resolve();
      });
      bind(channel);
    });
  return {
    port,
    env: {
      PUSHER_HOST: "127.0.0.1",
      PUSHER_PORT: String(port),
      PUSHER_USE_TLS: "false",
      PUSHER_APP_ID: APP.appId,
      PUSHER_KEY: APP.key,
      PUSHER_SECRET: APP.secret,
    },
    observed,
    notifications,
    async watchRooms(roomIds) {
      await Promise.all(
        roomIds.map((roomId) =>
          subscribe(
            `private-room-${roomId}`,
            (channel) =>
              channel.bind("new-message", (data: { roomId?: string; seq?: number; id?: string }) => {
                if (typeof data?.seq === "number" && typeof data.roomId === "string") {
                  observed.push({
                    roomId: data.roomId,
                    seq: data.seq,
                    id: String(data.id),
                    at: performance.now(),
                  });
                }
              }),
          )
        ),
      );
    },
    async watchUsers(userIds) {
      await Promise.all(
        userIds.map((userId) =>
          subscribe(
            `private-user-${userId}`,
            (channel) =>
              channel.bind("notification", (data: { id?: string; type?: string }) => {
                notifications.push({ userId, id: String(data?.id), type: String(data?.type) });
              }),
          )
        ),
      );
    },
    async waitFor(done, timeoutMs, what) {
      const start = performance.now();
      while (!done()) {
        if (performance.now() - start > timeoutMs) {
          throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return performance.now() - start;
    },
    async [Symbol.asyncDispose]() {
      client.disconnect();
      const deadline = performance.now() + 3000;
      while (gateway.stats().connections > 0 && performance.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await gateway.close();
      await server.shutdown();
    },
  };
}
