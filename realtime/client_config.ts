/** @module The `pusher-js` options a client connects with, for the embedded gateway or Pusher. */
import type { RealtimeConfig } from "../config.ts";

/** The `pusher-js` options a client connects with. */
export interface ClientConfig {
  key: string;
  cluster: string;
  wsHost?: string;
  wsPort?: number;
  wssPort?: number;
  forceTLS: boolean;
  enabledTransports?: ("ws" | "wss")[];
  authEndpoint: string;
  /** pusher-js `userAuthentication.endpoint`, for `pusher.signin()`. */
  userAuthEndpoint: string;
}

/**
 * The client options: for the embedded gateway, the host and port the client
 * reached us on (so proxies work), else the server's port; for Pusher, its cluster or host.
 */
export function clientConfig(
  realtime: RealtimeConfig,
  key: string,
  request: { url: string; host?: string; forwardedProto?: string; serverPort?: number },
): ClientConfig {
  const url = new URL(request.url);
  const tls = (request.forwardedProto?.split(",")[0]?.trim() ?? url.protocol.replace(":", "")) === "https";
  const origin = `${tls ? "https" : "http"}://${request.host ?? url.host}`;
  const authEndpoint = `${origin}/api/pusher/auth`;
  const userAuthEndpoint = `${origin}/api/pusher/user-auth`;
  if (realtime.kind === "pusher") {
    if (!realtime.host) {
      return { key, cluster: realtime.cluster ?? "mt1", forceTLS: true, authEndpoint, userAuthEndpoint };
    }
    return {
      key,
      cluster: realtime.cluster ?? "mt1",
      wsHost: realtime.host,
      ...(realtime.useTLS ? { wssPort: realtime.port ?? 443 } : { wsPort: realtime.port ?? 80 }),
      forceTLS: realtime.useTLS,
      enabledTransports: [realtime.useTLS ? "wss" : "ws"],
      authEndpoint,
      userAuthEndpoint,
    };
  }
  const reached = new URL(origin);
  const port = reached.port ? Number(reached.port) : request.host ? (tls ? 443 : 80) : request.serverPort;
  return {
    key,
    cluster: "mt1", // pusher-js insists on a cluster; wsHost takes precedence
    wsHost: reached.hostname,
    ...(tls ? { wssPort: port ?? 443 } : { wsPort: port ?? 80 }),
    forceTLS: tls,
    enabledTransports: [tls ? "wss" : "ws"],
    authEndpoint,
    userAuthEndpoint,
  };
}
