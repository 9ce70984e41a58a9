/**
 * @module The realtime sink around the real `npm:pusher` client: the same code
 * publishes to Pusher Channels and to the embedded gateway on our own port, and
 * ends removed members' access in stream order (revocations).
 * Also the typing relay: published at once, bounded, dropped under overload.
 */
import Pusher from "pusher";
import type { TypingEvent } from "../actors/room_actor.ts";
import { readUnreadTotals } from "../storage/room_reads.ts";
import { ensureSetting, randomSecret } from "../storage/settings.ts";
import type { OutboxMetrics } from "./metrics.ts";
import type { OutboxBatch, RealtimeEvent } from "./outbox.ts";
import type { PusherCredentials } from "./realtime_access.ts";
import {
  chunk,
  MAX_BATCH_EVENTS,
  type PusherEvent,
  type Revocation,
  revocationOf,
  toPusherEvents,
  typingEvent,
  usersNeedingTotals,
} from "./pusher_events.ts";
import { isPermanentStatus, type OutboxSink, PermanentDeliveryError } from "./sink.ts";

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

/** Sends Pusher events and revocations; every call must be safe to repeat. */
export interface Publisher {
  publish(events: PusherEvent[]): Promise<void>;
  /** Ends a user's access to channels before anything published after it is sent. */
  revoke(revocation: Revocation): Promise<void>;
}

/**
 * The app credentials: those configured, and for the rest values generated
 * once and kept in KV, so every process and restart agrees on them.
 */
export async function resolvePusherCredentials(
  kv: Deno.Kv,
  configured: Partial<PusherCredentials>,
): Promise<PusherCredentials> {
  return {
    appId: configured.appId ??
      await ensureSetting(
        kv,
        "pusher_app_id",
        () => String(1_000_000 + Math.floor(Math.random() * 8_999_999)),
      ),
    key: configured.key ?? await ensureSetting(kv, "pusher_key", () => randomSecret(10)),
    secret: configured.secret ?? await ensureSetting(kv, "pusher_secret", () => randomSecret(32)),
  };
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
 * Publishes through `triggerBatch`, ten events per call, in order. `client`
 * returns null while it cannot publish yet (the embedded gateway before the
 * server listens): that is a failed, retried attempt.
 *
 * Revocations go to `revokeInProcess` when the gateway runs in this process (it
 * drops the user's subscriptions to the room's channels only). Otherwise they
 * call Pusher's `terminateUserConnections`: Pusher closes every connection the
 * user signed in on (`pusher.signin()`, through `POST /api/pusher/user-auth`),
 * pusher-js reconnects and authorizes each channel afresh, and the removed room
 * is refused. Connections that never signed in cannot be found by user.
 */
export function pusherPublisher(
  client: () => Pusher | null | undefined,
  revokeInProcess?: (revocation: Revocation) => void,
): Publisher {
  const connected = () => {
    const pusher = client();
    if (!pusher) throw new Error("The embedded gateway is not listening yet");
    return pusher;
  };
  return {
    async publish(events) {
      const pusher = connected();
      for (const part of chunk(events, MAX_BATCH_EVENTS)) {
        try {
          const res = await pusher.triggerBatch(part.map((e) => ({ ...e })));
          await res.text(); // consume the body so the connection is released
        } catch (err) {
          throw classify(err);
        }
      }
    },
    async revoke(revocation) {
      if (revokeInProcess) return revokeInProcess(revocation);
      try {
        const res = await connected().terminateUserConnections(revocation.userId);
        await res.text();
      } catch (err) {
        throw classify(err);
      }
    },
  };
}

/**
 * The realtime sink: maps each batch's events to Pusher events (unread totals
 * read now, at delivery) and publishes them in order, across batches, ten at a
 * time. Reports how many batches went out completely.
 */
export function createRealtimeSink(kv: Deno.Kv, publisher: Publisher): OutboxSink<RealtimeEvent> {
  return {
    async deliver(batches: OutboxBatch<RealtimeEvent>[]) {
      const totals = await readUnreadTotals(kv, usersNeedingTotals(batches.flatMap((b) => b.events)));
      const context = { totalUnread: (userId: string) => totals.get(userId) ?? 0 };
      // A revocation follows the events of its removal and precedes everything after it.
      const steps: (PusherEvent | Revocation)[] = [];
      const ends: number[] = []; // steps[0, ends[i]) complete batches 0..i
      for (const batch of batches) {
        for (const event of batch.events) {
          steps.push(...toPusherEvents(event, context));
          const revocation = revocationOf(event);
          if (revocation) steps.push(revocation);
        }
        ends.push(steps.length);
      }
      let sent = 0;
      try {
        for (const run of runs(steps)) {
          if ("userId" in run) await publisher.revoke(run);
          else await publisher.publish(run);
          sent += "userId" in run ? 1 : run.length;
        }
      } catch (error) {
        return { delivered: ends.filter((end) => end <= sent).length, error };
      }
      return { delivered: batches.length };
    },
  };
}

/** Options of the typing relay. */
export interface TypingRelayOptions {
  /** Indicators waiting at most; more are dropped (the newest state per user and room wins). */
  maxQueued?: number;
  /** Publish calls in flight at once. */
  concurrency?: number;
  metrics?: OutboxMetrics;
}

/**
 * Publishes typing indicators at once, beside (never behind) the outbox. Keeps
 * at most one pending indicator per user and room, drops beyond `maxQueued`,
 * and never retries: a late "typing" is worse than none.
 */
export class TypingRelay {
  readonly #publisher: Publisher;
  readonly #pending = new Map<string, PusherEvent>();
  readonly #maxQueued: number;
  readonly #concurrency: number;
  readonly #metrics?: OutboxMetrics;
  readonly #inFlight = new Set<Promise<void>>();
  #closed = false;

  constructor(publisher: Publisher, options: TypingRelayOptions = {}) {
    this.#publisher = publisher;
    this.#maxQueued = options.maxQueued ?? 256;
    this.#concurrency = options.concurrency ?? 2;
    this.#metrics = options.metrics;
  }

  /** Queues an indicator for publishing; returns at once. */
  push(event: TypingEvent): void {
    const id = `${event.roomId}\u0000${event.userId}`;
    if (this.#closed || (!this.#pending.has(id) && this.#pending.size >= this.#maxQueued)) {
      this.#metrics?.typingDropped();
      return;
    }
    this.#pending.delete(id);
    this.#pending.set(id, typingEvent(event));
    this.#pump();
  }

  /** Stops taking indicators and waits for the calls in flight. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const _ of this.#pending.keys()) this.#metrics?.typingDropped();
    this.#pending.clear();
    await Promise.allSettled([...this.#inFlight]);
  }

  #pump(): void {
    while (this.#pending.size > 0 && this.#inFlight.size < this.#concurrency) {
      const events = [...this.#pending.entries()].slice(0, MAX_BATCH_EVENTS);
      for (const [id] of events) this.#pending.delete(id);
      const call = this.#publisher.publish(events.map(([, e]) => e)).then(
        () => this.#metrics?.typingPublished(events.length),
        () => {
          for (const _ of events) this.#metrics?.typingDropped();
        },
      ).finally(() => {
        this.#inFlight.delete(call);
        if (!this.#closed) this.#pump();
      });
      this.#inFlight.add(call);
    }
  }
}

/** Steps in order: runs of up to ten events between revocations, and each revocation alone. */
function* runs(steps: (PusherEvent | Revocation)[]): Generator<PusherEvent[] | Revocation> {
  let events: PusherEvent[] = [];
  for (const step of steps) {
    if ("userId" in step) {
      if (events.length > 0) yield events;
      events = [];
      yield step;
      continue;
    }
    events.push(step);
    if (events.length === MAX_BATCH_EVENTS) {
      yield events;
      events = [];
    }
  }
  if (events.length > 0) yield events;
}

/** A 400/413 from the events API will never pass: the batch goes to the dead-letter area at once. */
function classify(err: unknown): unknown {
  const status = (err as { status?: unknown }).status;
  if (typeof status === "number" && isPermanentStatus(status)) {
    const body = String((err as { body?: unknown }).body ?? "").slice(0, 200);
    return new PermanentDeliveryError(`Pusher refused the events: HTTP ${status} ${body}`, { cause: err });
  }
  return err;
}
