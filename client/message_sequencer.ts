/**
 * @module Puts one room's messages in `seq` order, each once: realtime events (at least once,
 * possibly with gaps after a reconnect) and `afterSeq` pages (authoritative, without deleted
 * messages) go in, messages to hand to the listener come out. Pure: no I/O, no timers.
 */

/** What the sequencer needs of a message. */
export interface Sequenced {
  seq: number;
}

/**
 * The order of one room's messages for one listener.
 *
 * @example
 * ```ts
 * const order = new MessageSequencer<Message>(0);
 * order.push({ seq: 2 });   // [] — 1 is missing: `needsFill` is true
 * order.page([{ seq: 1 }, { seq: 2 }], { complete: true, startedAt: order.mark() }); // [1, 2]
 * ```
 */
export class MessageSequencer<M extends Sequenced> {
  #last: number;
  /** Events ahead of a gap, by seq, with the `mark()` at which each arrived. */
  readonly #ahead = new Map<number, { message: M; arrived: number }>();
  #clock = 0;
  #needsFill = false;

  /** Starts after `afterSeq`: the first message delivered is the first with a greater seq. */
  constructor(afterSeq: number) {
    this.#last = afterSeq;
  }

  /** The seq of the last message delivered (or the start). */
  get lastSeq(): number {
    return this.#last;
  }

  /** Whether an event showed a gap that only an `afterSeq` page can close. */
  get needsFill(): boolean {
    return this.#needsFill;
  }

  /** A point in the sequence of arrivals: pass it as `startedAt` for a page requested now. */
  mark(): number {
    return ++this.#clock;
  }

  /**
   * A realtime event. Returns the messages that can be delivered now, in order: none for a
   * duplicate, or when it lies beyond a gap (kept until the gap is filled). A `truncated`
   * stub is never delivered: it only says that a page must be fetched.
   */
  push(message: M & { truncated?: boolean }): M[] {
    if (message.seq <= this.#last || this.#ahead.has(message.seq)) return [];
    if (message.truncated === true) {
      this.#needsFill = true;
      return [];
    }
    if (message.seq !== this.#last + 1) {
      this.#ahead.set(message.seq, { message, arrived: this.mark() });
      this.#needsFill = true;
      return [];
    }
    this.#last = message.seq;
    return [message, ...this.#drain()];
  }

  /**
   * A page of `GET /api/chat/messages?afterSeq=…` (oldest first), requested at `startedAt`.
   * Returns the messages to deliver, in order. A complete page (`hasMore: false`) proves that
   * every message the server had when it was asked is known: an event that arrived before
   * then and is still ahead of the page was deleted (as was every unseen one before it), and
   * is dropped.
   */
  page(messages: M[], options: { complete: boolean; startedAt: number }): M[] {
    const out: M[] = [];
    for (const message of [...messages].sort((a, b) => a.seq - b.seq)) {
      if (message.seq <= this.#last) continue;
      this.#last = message.seq;
      out.push(message);
    }
    if (options.complete) {
      // Seqs are given in order: that message and every one before it are settled (shown or deleted).
      for (const [seq, { arrived }] of this.#ahead) {
        if (arrived < options.startedAt) this.#last = Math.max(this.#last, seq);
      }
    }
    for (const seq of this.#ahead.keys()) if (seq <= this.#last) this.#ahead.delete(seq);
    out.push(...this.#drain());
    // What is still ahead arrived while the page was in flight: one more page settles it.
    this.#needsFill = options.complete ? this.#ahead.size > 0 : true;
    return out;
  }

  /** Delivers what the last delivery made contiguous. */
  #drain(): M[] {
    const out: M[] = [];
    for (let next = this.#ahead.get(this.#last + 1); next; next = this.#ahead.get(this.#last + 1)) {
      this.#ahead.delete(this.#last + 1);
      this.#last++;
      out.push(next.message);
    }
    return out;
  }
}
