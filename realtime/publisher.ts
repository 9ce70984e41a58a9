/**
 * @module How realtime events leave this process: a `Publisher`, either the
 * real `npm:pusher` client (Pusher Channels and other Pusher-protocol servers)
 * or the embedded gateway in this same process.
 */
import Pusher from "pusher";
import { isPermanentStatus, PermanentDeliveryError } from "../outbox/sink.ts";
import type { Gateway } from "./gateway_api.ts";
import { chunk, MAX_BATCH_EVENTS, type PusherEvent, type Revocation } from "./pusher_events.ts";

/** Sends Pusher events and revocations; every call must be safe to repeat. */
export interface Publisher {
  publish(events: PusherEvent[]): Promise<void>;
  /** Ends a user's access to channels before anything published after it is sent. */
  revoke(revocation: Revocation): Promise<void>;
  /**
   * A publisher for one delivery that may hold part of the work back until
   * `flush()` (the peer relay sends a delivery's steps to each peer at once).
   * Without it, every call completes before it resolves.
   */
  session?(): PublisherSession;
}

/** One delivery's publisher: nothing counts as sent until `flush()` resolved. */
export interface PublisherSession extends Omit<Publisher, "session"> {
  flush(): Promise<void>;
}

/** Where and as whom to publish. */
export interface PusherTarget {
  appId: string;
  key: string;
  secret: string;
  /** A Pusher-protocol host (the embedded gateway: `127.0.0.1`); else `cluster`. */
  host?: string;
  port?: number;
  cluster?: string;
  useTLS: boolean;
  /** Per-request timeout; a hanging service counts as a failed attempt. */
  timeoutMs?: number;
}

/** The `npm:pusher` client for a target. */
export function createPusherClient(target: PusherTarget): Pusher {
  return new Pusher({
    appId: target.appId,
    key: target.key,
    secret: target.secret,
    useTLS: target.useTLS,
    timeout: target.timeoutMs ?? 5000,
    ...(target.host ? { host: target.host } : {}),
    ...(target.port ? { port: String(target.port) } : {}),
    ...(target.cluster && !target.host ? { cluster: target.cluster } : {}),
  } as Pusher.Options);
}

/**
 * Publishes through `triggerBatch`, ten events per call, in order: the path to
 * Pusher Channels and other Pusher-protocol servers.
 *
 * Revocations call Pusher's `terminateUserConnections`: Pusher closes every
 * connection the user signed in on (`pusher.signin()`, through `POST
 * /api/pusher/user-auth`), pusher-js reconnects and authorizes each channel
 * afresh, and the removed room is refused. Connections that never signed in
 * cannot be found by user.
 */
export function pusherPublisher(pusher: Pusher): Publisher {
  return {
    async publish(events) {
      for (const part of chunk(events, MAX_BATCH_EVENTS)) {
        try {
          const res = await pusher.triggerBatch(part.map(({ position: _, ...e }) => e));
          await res.text(); // consume the body so the connection is released
        } catch (err) {
          throw classify(err);
        }
      }
    },
    async revoke(revocation) {
      try {
        const res = await pusher.terminateUserConnections(revocation.userId);
        await res.text();
      } catch (err) {
        throw classify(err);
      }
    },
  };
}

/** How long in-process publishing may hold the event loop before it lets other work in. */
const SLICE_MS = 5;

/**
 * Publishes to the embedded gateway in this process: ten events per call, in
 * order, each call checked by the events API's rules before any of it is sent
 * (an event it refuses can never pass, as a 400 or 413 cannot), with no
 * signing, HTTP or JSON parsing in between. A revocation drops the user's
 * subscriptions to the room's channels at once, right after the events before it.
 * A long backlog is published in slices of about 5 ms, so that requests and
 * socket writes go on between them (as they did between HTTP calls).
 */
export function gatewayPublisher(gateway: Pick<Gateway, "publish" | "revokeUser">): Publisher {
  let burstStart = 0;
  let lastEnd = -Infinity;
  const pace = async () => {
    const now = performance.now();
    if (now - lastEnd > SLICE_MS) burstStart = now; // idle since the last call: a new burst
    else if (now - burstStart > SLICE_MS) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      burstStart = performance.now();
    }
  };
  return {
    async publish(events) {
      for (const part of chunk(events, MAX_BATCH_EVENTS)) {
        await pace();
        try {
          gateway.publish(part);
        } catch (err) {
          throw classify(err);
        } finally {
          lastEnd = performance.now();
        }
      }
    },
    // Never paced: between a removal's events and its revocation no other task may run, or a frame the
    // removed member sends on seeing the events (a kept signature) would be taken before the revocation.
    revoke(revocation) {
      try {
        gateway.revokeUser(revocation.userId, revocation.channels);
        return Promise.resolve();
      } catch (err) {
        return Promise.reject(err);
      } finally {
        lastEnd = performance.now();
      }
    },
  };
}

/** A 400/413 from the events API will never pass: the batch goes to the dead-letter area at once. */
function classify(err: unknown): unknown {
  const status = (err as { status?: unknown }).status;
  if (typeof status === "number" && isPermanentStatus(status)) {
    const body = String((err as { body?: unknown }).body ?? (err as Error).message ?? "").slice(0, 200);
    return new PermanentDeliveryError(`Pusher refused the events: HTTP ${status} ${body}`, { cause: err });
  }
  return err;
}
