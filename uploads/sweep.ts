/**
 * @module Removes uploads that no visible message holds: 24 hours after they
 * were created (incomplete ones, interrupted ones, complete ones never
 * attached), and those of deleted messages (their delete queues a sweep entry).
 * Each step is safe to repeat, so processes sweeping at once, or a sweep that
 * dies half-way, leave nothing behind and never remove an attached upload.
 */
import { parseMessageId } from "../storage/ids.ts";
import { keys } from "../storage/keys.ts";
import type { StoredMessage, UploadRecord } from "../storage/records.ts";
import type { UploadStore } from "./store.ts";

/** How long an upload may wait for a message to hold it. */
export const UPLOAD_TTL_MS = 24 * 60 * 60_000;
/** How often each process sweeps. */
const SWEEP_INTERVAL_MS = 10 * 60_000;
/** Sweep entries one round looks at. */
const ROUND_LIMIT = 100;

/**
 * One sweep round over the entries due by `now`: an upload that a visible
 * message holds keeps its bytes (only the entry goes); any other loses its record
 * (under a check, so a send attaching it at the same moment wins or loses
 * cleanly), then its bytes in every store, then the entry. Returns how many
 * entries it looked at and how many uploads it removed.
 */
export async function sweepUploads(
  kv: Deno.Kv,
  stores: UploadStore[],
  options: { now: number; limit?: number },
): Promise<{ seen: number; removed: number }> {
  const due = kv.list<null>(
    { prefix: keys.uploadSweeps(), end: keys.uploadSweep(options.now + 1, "") },
    { limit: options.limit ?? ROUND_LIMIT },
  );
  let removed = 0;
  let seen = 0;
  for await (const { key } of due) {
    seen++;
    const uploadId = key[2] as string;
    const entry = await kv.get<UploadRecord>(keys.upload(uploadId));
    if (!await isHeld(kv, entry.value)) {
      if (entry.value !== null) {
        const result = await kv.atomic().check(entry).delete(entry.key).commit();
        if (!result.ok) continue; // changed meanwhile (attached, or completed): looked at again next round
        removed++;
      }
      for (const store of stores) await store.remove(uploadId);
    }
    await kv.delete(key);
  }
  return { seen, removed };
}

/** Whether a visible message holds the upload (attached in its commit; a delete never comes back). */
async function isHeld(kv: Deno.Kv, upload: UploadRecord | null): Promise<boolean> {
  const ref = upload?.messageId === undefined ? null : parseMessageId(upload.messageId);
  if (ref === null) return false;
  const message = (await kv.get<StoredMessage>(keys.message(ref.roomId, ref.seq))).value;
  return message !== null && message.deletedAt === undefined;
}

/** Runs `sweepUploads` now and then in this process. */
export class UploadSweeper {
  readonly #kv: Deno.Kv;
  readonly #stores: UploadStore[];
  #timer: ReturnType<typeof setInterval> | undefined;
  #running: Promise<void> = Promise.resolve();

  constructor(kv: Deno.Kv, stores: UploadStore[]) {
    this.#kv = kv;
    this.#stores = stores;
  }

  start(): void {
    this.#timer ??= setInterval(() => this.#round(), SWEEP_INTERVAL_MS);
    this.#round();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  #round(): void {
    this.#running = this.#running.then(async () => {
      // Round after round while rounds come back full; stopping ends it between rounds.
      while (this.#timer !== undefined) {
        const { seen } = await sweepUploads(this.#kv, this.#stores, { now: Date.now(), limit: ROUND_LIMIT });
        if (seen < ROUND_LIMIT) return;
      }
    }).catch((err) => console.error("uploads: sweep failed; the next one comes soon", err));
  }
}
