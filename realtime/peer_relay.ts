/**
 * @module Keeps the embedded gateways of one host whole: whatever one process
 * publishes (events and revocations, in order) reaches the sockets of every
 * other live gateway on the same KV store, through a loopback listener each
 * one opens and signs requests for as the Pusher HTTP API is signed.
 */
import type { Gateway } from "./gateway_api.ts";
import type { GatewayPeer, GatewayPeers } from "./gateway_peers.ts";
import { PEER_REFRESH_MS } from "./gateway_peers.ts";
import { PusherApiError } from "./http_api.ts";
import type { Publisher } from "./publisher.ts";
import type { PusherEvent, Revocation } from "./pusher_events.ts";
import { type AppCredentials, signApiRequest, verifyApiRequest } from "./signature.ts";

/** What one relay request carries: events to fan out, or a revocation to apply, in this order. */
export type PeerStep = { events: PusherEvent[] } | { revoke: Revocation };

/** The path of the peer listener's relay endpoint (signed as an HTTP API path is). */
export const PEER_PATH = "/peer/steps";

/** More endpoints of the peer listener, by path: the JSON body in, the JSON answer out (signed alike). */
export type PeerRoutes = Record<string, (body: unknown) => Promise<unknown>>;

/** A peer's listener refused the connection: its process is gone, and nothing was sent. */
export class PeerGoneError extends Error {
  constructor(url: string, options?: ErrorOptions) {
    super(`gateway peer ${url} is gone`, options);
    this.name = "PeerGoneError";
  }
}
/** How long a peer may take to answer before the batch counts as not delivered (and is retried). */
const PEER_TIMEOUT_MS = 3000;
/** Largest request body the listener reads (ten events of 10 KB fit easily). */
const MAX_BODY_BYTES = 256 * 1024;

/** This gateway's side of the relay: its listener, and the publisher that reaches the others. */
export interface PeerRelay {
  /** Publishes to the local gateway first, then to every live peer, and resolves when all have it. */
  publisher(local: Publisher): Publisher;
  /**
   * Posts `body` to another endpoint of a peer and returns its JSON answer.
   *
   * @throws {PeerGoneError} when nothing listens there (nothing was sent)
   */
  call(peer: GatewayPeer, path: string, body: unknown, timeoutMs: number): Promise<unknown>;
  /** Opens the loopback listener on a free port and registers it; other gateways publish here from then on. */
  start(): Promise<void>;
  /** Resolves once other gateways' publishes include this one (WebSocket upgrades wait for it). */
  ready(): Promise<void>;
  /** Deregisters and closes the listener. */
  close(): Promise<void>;
}

/**
 * The relay of one gateway over `peers`; requests are signed with the app
 * secret. Its publisher reaches the registered peers even before `start()`.
 */
export function createPeerRelay(options: {
  gateway: Pick<Gateway, "publish" | "revokeUser">;
  peers: GatewayPeers;
  credentials: AppCredentials;
  routes?: PeerRoutes;
}): PeerRelay {
  const { gateway, peers, credentials, routes = {} } = options;
  const client = Deno.createHttpClient({});
  let server: Deno.HttpServer<Deno.NetAddr> | undefined;
  let started: Promise<void> | undefined;
  return {
    publisher: (local) => relayPublisher(local, { peers, credentials, client }),
    async call(peer, path, body, timeoutMs) {
      return JSON.parse(
        await postToPeer(peer, path, JSON.stringify(body), { credentials, client, timeoutMs }),
      );
    },
    start() {
      started ??= (async () => {
        server = Deno.serve(
          { hostname: "127.0.0.1", port: 0, onListen: () => {} },
          (req) => handlePeerRequest(req, { gateway, credentials, routes }),
        ) as Deno.HttpServer<Deno.NetAddr>;
        await peers.register(`http://127.0.0.1:${server.addr.port}`);
        // Every peer's cached list is refreshed within PEER_REFRESH_MS: after that they all publish here.
        await new Promise((resolve) => setTimeout(resolve, PEER_REFRESH_MS + 50));
      })();
      return started;
    },
    // A listener that failed to start must not hold sockets back: they are served, unrelayed, as before.
    ready: () => started?.catch(() => {}) ?? Promise.resolve(),
    async close() {
      await started?.catch(() => {});
      await peers.retire();
      await server?.shutdown();
      client.close();
    },
  };
}

/** Answers one relay request: 200 `{}` once its steps reached the local sockets, else 4xx `{error}`. */
export async function handlePeerRequest(
  req: Request,
  options: {
    gateway: Pick<Gateway, "publish" | "revokeUser">;
    credentials: AppCredentials;
    routes?: PeerRoutes;
  },
): Promise<Response> {
  const url = new URL(req.url);
  const route = options.routes?.[url.pathname];
  if (url.pathname !== PEER_PATH && !route) return Response.json({ error: "Not found" }, { status: 404 });
  if (req.method !== "POST") return Response.json({ error: "Method not allowed, use POST" }, { status: 405 });
  const body = await req.text();
  if (body.length > MAX_BODY_BYTES) return Response.json({ error: "Body too large" }, { status: 413 });
  const auth = verifyApiRequest(options.credentials, {
    method: "POST",
    path: url.pathname,
    query: url.searchParams,
    body,
  });
  if (!auth.ok) return Response.json({ error: auth.error }, { status: 401 });
  if (route) {
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      return Response.json({ error: "Request body is not valid JSON" }, { status: 400 });
    }
    return Response.json(await route(json));
  }
  const steps = parseSteps(body);
  if (steps === null) {
    return Response.json({ error: "Expected {steps: [{events: [...]} | {revoke: {...}}]}" }, { status: 400 });
  }
  try {
    for (const step of steps) {
      if ("events" in step) options.gateway.publish(step.events);
      else options.gateway.revokeUser(step.revoke.userId, step.revoke.channels);
    }
  } catch (err) {
    if (err instanceof PusherApiError) return Response.json({ error: err.message }, { status: err.status });
    throw err;
  }
  return Response.json({});
}

/**
 * A publisher that reaches the local gateway, then every live peer of this
 * host, before it resolves. Its sessions (one per outbox delivery) publish
 * locally at once and send what the delivery published to each peer in as few
 * requests as fit, at `flush()`.
 */
function relayPublisher(
  local: Publisher,
  options: { peers: GatewayPeers; credentials: AppCredentials; client: Deno.HttpClient },
): Publisher {
  const toPeers = async (steps: PeerStep[]) => {
    const others = await options.peers.others();
    if (others.length === 0 || steps.length === 0) return;
    for (const body of requestBodies(steps)) {
      await Promise.all(others.map((peer) => sendToPeer(peer, body, options)));
    }
  };
  return {
    async publish(events) {
      await local.publish(events);
      await toPeers([{ events }]);
    },
    async revoke(revocation) {
      await local.revoke(revocation);
      await toPeers([{ revoke: revocation }]);
    },
    session() {
      const pending: PeerStep[] = [];
      return {
        async publish(events) {
          await local.publish(events);
          pending.push({ events });
        },
        async revoke(revocation) {
          await local.revoke(revocation);
          pending.push({ revoke: revocation });
        },
        flush: () => toPeers(pending.splice(0)),
      };
    },
  };
}

/** The relay request bodies for `steps`, in order, each within the listener's body limit. */
function requestBodies(steps: PeerStep[]): string[] {
  const bodies: string[] = [];
  let part: string[] = [];
  let bytes = 0;
  for (const step of steps) {
    const text = JSON.stringify(step);
    if (part.length > 0 && bytes + text.length > MAX_BODY_BYTES / 2) {
      bodies.push(`{"steps":[${part.join(",")}]}`);
      part = [];
      bytes = 0;
    }
    part.push(text);
    bytes += text.length;
  }
  if (part.length > 0) bodies.push(`{"steps":[${part.join(",")}]}`);
  return bodies;
}

/**
 * Posts one step to a peer. A refused connection means its process is gone
 * (its sockets with it): it is left out. Any other failure throws, so that the
 * batch is delivered again (at least once).
 */
async function sendToPeer(
  peer: GatewayPeer,
  body: string,
  options: { peers: GatewayPeers; credentials: AppCredentials; client: Deno.HttpClient },
): Promise<void> {
  try {
    await postToPeer(peer, PEER_PATH, body, { ...options, timeoutMs: PEER_TIMEOUT_MS });
  } catch (err) {
    if (err instanceof PeerGoneError) return options.peers.markGone(peer);
    throw err;
  }
}

/** Posts a signed body to a peer's endpoint; resolves with the 200 answer's text. */
async function postToPeer(
  peer: GatewayPeer,
  path: string,
  body: string,
  options: { credentials: AppCredentials; client: Deno.HttpClient; timeoutMs: number },
): Promise<string> {
  const query = signApiRequest(options.credentials, { method: "POST", path, body });
  let res: Response;
  try {
    res = await fetch(`${peer.url}${path}?${query}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body,
      client: options.client,
      signal: AbortSignal.timeout(options.timeoutMs),
    });
  } catch (err) {
    if (isRefused(err)) throw new PeerGoneError(peer.url, { cause: err });
    throw new Error(`gateway peer ${peer.url} did not answer: ${(err as Error).message}`, { cause: err });
  }
  const text = await res.text();
  if (res.status !== 200) {
    throw new Error(`gateway peer ${peer.url} answered ${res.status}: ${text.slice(0, 200)}`);
  }
  return text;
}

/** Whether a fetch failed because nothing listens at the address (Deno puts the reason in the causes). */
function isRefused(err: unknown): boolean {
  for (let e = err, depth = 0; e !== undefined && depth < 5; e = (e as Error).cause, depth++) {
    if (e instanceof Deno.errors.ConnectionRefused) return true;
    if (/connection refused|os error 111/i.test(String((e as Error)?.message ?? e))) return true;
  }
  return false;
}

function parseSteps(body: string): PeerStep[] | null {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return null;
  }
  const steps = (json as { steps?: unknown } | null)?.steps;
  if (!Array.isArray(steps)) return null;
  const parsed = steps.map(parseStep);
  return parsed.every((step) => step !== null) ? parsed as PeerStep[] : null;
}

function parseStep(json: unknown): PeerStep | null {
  if (typeof json !== "object" || json === null) return null;
  const step = json as Record<string, unknown>;
  if (Array.isArray(step.events) && step.events.every(isEvent)) return { events: step.events };
  const revoke = step.revoke as Record<string, unknown> | undefined;
  if (
    typeof revoke?.userId === "string" && Array.isArray(revoke.channels) &&
    revoke.channels.every((c) => typeof c === "string")
  ) {
    return { revoke: { userId: revoke.userId, channels: revoke.channels } };
  }
  return null;
}

function isEvent(value: unknown): value is PusherEvent {
  const e = value as Record<string, unknown>;
  return typeof e === "object" && e !== null && typeof e.channel === "string" && typeof e.name === "string" &&
    typeof e.data === "string" && (e.socketId === undefined || typeof e.socketId === "string") &&
    (e.position === undefined || isPosition(e.position));
}

function isPosition(value: unknown): boolean {
  const p = value as Record<string, unknown>;
  return typeof p === "object" && p !== null && Number.isSafeInteger(p.order) &&
    Number.isSafeInteger(p.index) &&
    typeof p.last === "boolean";
}
