/**
 * @module The live tail of published realtime events (the console's Pusher
 * debug view): a publisher wrapper that keeps the last events this process
 * published in a bounded ring, decoded only when an operator reads them.
 */
import { parseChannel } from "../common/channels.js";
import type { Publisher } from "./publisher.ts";
import type { PusherEvent } from "./pusher_events.ts";

/** One published event as the tail shows it. */
export interface TailEvent {
  /** Grows by one per event this process published: `after` pages on it. */
  id: number;
  channel: string;
  event: string;
  /** The room the event is about, when its channel or data names one. */
  roomId: string | null;
  /** The room `seq` the event carries, when it carries one. */
  seq: number | null;
  /** When it was published (ms since the epoch). */
  at: number;
}

interface Recorded {
  id: number;
  event: PusherEvent;
  at: number;
}

/** The last `capacity` events published through `wrap()`ed publishers. */
export class EventTail {
  readonly #capacity: number;
  readonly #ring: Recorded[] = [];
  readonly #now: () => number;
  #next = 1;

  constructor(options: { capacity?: number; now?: () => number } = {}) {
    this.#capacity = options.capacity ?? 500;
    this.#now = options.now ?? Date.now;
  }

  /** A publisher that publishes through `inner` (and its sessions, when it has them), then records what went out. */
  wrap(inner: Publisher): Publisher {
    const wrapped: Publisher = this.#recording(inner);
    if (inner.session) wrapped.session = () => this.#recording(inner.session!());
    return wrapped;
  }

  #recording<P extends Omit<Publisher, "session">>(inner: P): P {
    return {
      ...inner,
      publish: async (events: PusherEvent[]) => {
        await inner.publish(events);
        this.record(events);
      },
      revoke: (revocation: Parameters<P["revoke"]>[0]) => inner.revoke(revocation),
    };
  }

  /** Records events as published now. */
  record(events: PusherEvent[]): void {
    const at = this.#now();
    for (const event of events) this.#ring.push({ id: this.#next++, event, at });
    if (this.#ring.length > this.#capacity) this.#ring.splice(0, this.#ring.length - this.#capacity);
  }

  /**
   * The recorded events with an id above `after`, oldest first, at most
   * `limit` (the newest ones), only those about `roomId` when given.
   */
  list(options: { after?: number; roomId?: string; limit?: number } = {}): TailEvent[] {
    const after = options.after ?? 0;
    const out: TailEvent[] = [];
    for (const recorded of this.#ring) {
      if (recorded.id <= after) continue;
      const shown = describe(recorded);
      if (options.roomId === undefined || shown.roomId === options.roomId) out.push(shown);
    }
    return out.slice(-(options.limit ?? 200));
  }

  /** The id of the newest event recorded (0 before the first). */
  get lastId(): number {
    return this.#next - 1;
  }
}

function describe({ id, event, at }: Recorded): TailEvent {
  const parsed = parseChannel(event.channel);
  let data: Record<string, unknown> = {};
  try {
    const value = JSON.parse(event.data);
    if (value !== null && typeof value === "object") data = value as Record<string, unknown>;
  } catch {
    // Not JSON: shown without room or seq.
  }
  const inner = (data.message ?? {}) as Record<string, unknown>;
  const roomId = parsed && "roomId" in parsed ? parsed.roomId : str(data.roomId) ?? str(inner.roomId);
  return {
    id,
    channel: event.channel,
    event: event.name,
    roomId: roomId ?? null,
    seq: num(data.seq) ?? num(inner.seq) ?? null,
    at,
  };
}

function str(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

function num(value: unknown): number | undefined {
  return typeof value === "number" ? value : undefined;
}
