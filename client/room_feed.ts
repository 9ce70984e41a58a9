/**
 * @module `onMessage` for one listener: realtime events and `afterSeq` pages through a
 * MessageSequencer, a page after every (re)subscription and whenever an event shows a gap, and
 * every `pollMs` while realtime is down, so the listener gets every message of the room once, in
 * `seq` order, across reconnects and without realtime at all.
 */
import { ChatApiError, ChatClosedError } from "./errors.ts";
import { MessageSequencer } from "./message_sequencer.ts";
import type { ChannelListener } from "./realtime.ts";

/** What a feed needs of a message. */
export interface FeedMessage {
  seq: number;
  roomId: string;
}

/** What one feed needs. */
export interface RoomFeedOptions<M extends FeedMessage> {
  roomId: string;
  /** Start after this seq; undefined: after the room's last message when the feed starts. */
  afterSeq?: number;
  /** Called with each message, once, in `seq` order. */
  deliver: (message: M) => void;
  /** `GET /api/chat/messages?roomId&afterSeq` (oldest first), retried on transient failures. */
  page: (afterSeq: number) => Promise<{ messages: M[]; hasMore: boolean }>;
  /** The room's last `seq` now. */
  lastSeq: () => Promise<number>;
  /** The start is known: messages after this seq follow. */
  onStart: (afterSeq: number) => void;
  /** Errors of the listener or of a page; the feed goes on. */
  onError: (error: unknown) => void;
  /** The room refused the caller (never a member: 404; former member: 403); the feed has ended. */
  onEnd: (error: ChatApiError) => void;
  /** Waits before trying a failed page again; rejects once the client closes. */
  backoff: () => Promise<void>;
  /** How often to page while the channel is not subscribed (realtime down or unavailable). */
  pollMs: number;
}

/** One listener's ordered view of a room; plug it into `Realtime.watchRoom`. */
export class RoomFeed<M extends FeedMessage> implements ChannelListener {
  readonly #options: RoomFeedOptions<M>;
  #order: MessageSequencer<M> | undefined;
  /** Events that came before the start point was known. */
  #early: unknown[] = [];
  #subscribed = false;
  #filling = false;
  #fillAgain = false;
  #stopped = false;
  #poll: ReturnType<typeof setInterval> | undefined;

  constructor(options: RoomFeedOptions<M>) {
    this.#options = options;
  }

  /** Learns where to start (the room's head, without `afterSeq`), then catches up. */
  async start(): Promise<void> {
    let after = this.#options.afterSeq;
    try {
      after ??= await this.#options.lastSeq();
    } catch (error) {
      return this.#fail(error);
    }
    if (this.#stopped) return;
    this.#order = new MessageSequencer<M>(after);
    try {
      this.#options.onStart(after);
    } catch (error) {
      this.#options.onError(error);
    }
    for (const data of this.#early.splice(0)) this.message(data);
    this.#fill();
    if (!this.#subscribed) this.#startPolling();
  }

  /** Delivers nothing more. */
  stop(): void {
    this.#stopped = true;
    this.#stopPolling();
  }

  subscribed(): void {
    this.#subscribed = true;
    this.#stopPolling();
    if (this.#order) this.#fill();
  }

  interrupted(): void {
    this.#subscribed = false;
    if (this.#order) this.#startPolling();
  }

  message(data: unknown): void {
    if (this.#stopped || !isMessageEvent(data, this.#options.roomId)) return;
    if (!this.#order) {
      this.#early.push(data);
      return;
    }
    this.#deliver(this.#order.push(data as M & { truncated?: boolean }));
    if (this.#order.needsFill) this.#fill();
  }

  refused(error: ChatApiError): void {
    if (this.#stopped) return;
    this.stop();
    this.#options.onEnd(error);
  }

  #startPolling(): void {
    if (this.#poll !== undefined || this.#stopped) return;
    this.#poll = setInterval(() => this.#fill(), this.#options.pollMs);
  }

  #stopPolling(): void {
    clearInterval(this.#poll);
    this.#poll = undefined;
  }

  /** Pages from the last delivered seq until nothing is missing; one fill at a time. */
  #fill(): void {
    if (this.#filling) {
      this.#fillAgain = true;
      return;
    }
    this.#filling = true;
    this.#fillPages().finally(() => this.#filling = false);
  }

  async #fillPages(): Promise<void> {
    const order = this.#order!;
    do {
      this.#fillAgain = false;
      try {
        do {
          const startedAt = order.mark();
          const before = order.lastSeq;
          const { messages, hasMore } = await this.#options.page(before);
          if (this.#stopped) return;
          this.#deliver(order.page(messages, { complete: !hasMore, startedAt }));
          if (hasMore && order.lastSeq === before) throw new TypeError("a page with hasMore moved nothing");
        } while (order.needsFill);
      } catch (error) {
        if (error instanceof ChatClosedError || this.#stopped) return;
        if (isRefusal(error)) return this.refused(error);
        this.#options.onError(error);
        try {
          await this.#options.backoff();
        } catch {
          return; // closed
        }
        this.#fillAgain = true;
      }
    } while (this.#fillAgain && !this.#stopped);
  }

  #deliver(messages: M[]): void {
    for (const message of messages) {
      if (this.#stopped) return;
      try {
        this.#options.deliver(message);
      } catch (error) {
        this.#options.onError(error);
      }
    }
  }

  #fail(error: unknown): void {
    if (error instanceof ChatClosedError || this.#stopped) return;
    if (isRefusal(error)) return this.refused(error);
    this.#options.onError(error);
    this.#options.backoff().then(() => this.start(), () => {});
  }
}

function isRefusal(error: unknown): error is ChatApiError {
  return error instanceof ChatApiError && (error.status === 403 || error.status === 404);
}

/** A `new-message` event of this room: a Message, or a `{roomId, seq, truncated}` stub. */
function isMessageEvent(data: unknown, roomId: string): boolean {
  if (typeof data !== "object" || data === null) return false;
  const event = data as Record<string, unknown>;
  return event.roomId === roomId && Number.isSafeInteger(event.seq) && (event.seq as number) > 0;
}
