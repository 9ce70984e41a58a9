/**
 * @module Keeps rooms' search indexes fresh in the background, yielding to the
 * commits that requests wait for: indexing a message writes several times the
 * keys its send did, so it waits for a quiet moment, but never longer than
 * `MAX_YIELD_MS`: under steady load there is none, and the index must still move.
 */
import type { CommitBatcher } from "../storage/commit_batcher.ts";
import type { RoomEvent } from "../storage/records.ts";
import { indexRoom } from "./search_index.ts";

/** Longest wait for a moment without request commits before indexing the next room anyway. */
export const MAX_YIELD_MS = 200;

/** The room events after which a room's index is behind: its messages' text changed. */
const SEARCHED_TEXT_EVENTS: ReadonlySet<RoomEvent["type"]> = new Set([
  "message.created",
  "message.updated",
  "message.deleted",
]);

/** Indexes rooms whose messages changed, one at a time, preferably when the store is not busy with requests. */
export class BackgroundIndexer {
  readonly #kv: Deno.Kv;
  readonly #batcher: Pick<CommitBatcher, "drain">;
  readonly #dirty = new Set<string>();
  #running: Promise<void> | null = null;
  #stopped = false;
  /** Rooms this process has indexed since it started (tests). */
  indexedRooms = 0;

  constructor(kv: Deno.Kv, batcher: Pick<CommitBatcher, "drain">) {
    this.#kv = kv;
    this.#batcher = batcher;
  }

  /** Schedules the room of a commit that created, edited or deleted a message (this process committed it). */
  committed(commit: { roomId: string; events: RoomEvent[] }): void {
    if (commit.events.some((e) => SEARCHED_TEXT_EVENTS.has(e.type))) this.schedule(commit.roomId);
  }

  /** Marks the room's index as behind; it catches up at the next quiet moment. */
  schedule(roomId: string): void {
    if (this.#stopped) return;
    this.#dirty.add(roomId);
    this.#kick();
  }

  /** Resolves once every scheduled room is indexed. */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }

  /** Stops indexing after the room in progress; searches catch up the rest on demand. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#running;
  }

  #kick(): void {
    if (this.#running || this.#stopped || this.#dirty.size === 0) return;
    this.#running = this.#run().finally(() => {
      this.#running = null;
      this.#kick();
    });
  }

  async #run(): Promise<void> {
    while (this.#dirty.size > 0 && !this.#stopped) {
      await this.#quietOrLate(); // a moment with no request commit queued or in flight, or enough waiting
      if (this.#stopped) return;
      const roomId = this.#dirty.values().next().value!;
      this.#dirty.delete(roomId);
      try {
        this.indexedRooms++;
        await indexRoom(this.#kv, roomId);
      } catch (err) {
        console.error(`search: indexing room ${roomId} failed; a search will catch up`, err);
      }
    }
  }

  async #quietOrLate(): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<void>((resolve) => timer = setTimeout(resolve, MAX_YIELD_MS));
    try {
      await Promise.race([this.#batcher.drain(), late]);
    } finally {
      clearTimeout(timer);
    }
  }
}
