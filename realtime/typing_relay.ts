/**
 * @module The typing relay: indicators published at once, beside (never behind)
 * the outbox, bounded, and dropped under overload. Typing is never stored.
 */
import type { TypingEvent } from "../actors/room_actor.ts";
import type { OutboxMetrics } from "../outbox/metrics.ts";
import type { Publisher } from "./publisher.ts";
import { MAX_BATCH_EVENTS, type PusherEvent, typingEvent } from "./pusher_events.ts";

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
