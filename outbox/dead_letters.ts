/**
 * @module Dead letters as the console and `deno task outbox dead` show them:
 * sink, room (or user), age, attempts and last error, newest problems visible.
 */
import { type DeadSummary, listDead } from "./operations.ts";

/** One dead batch for operators. */
export interface DeadLetter extends DeadSummary {
  /** The room whose stream it belongs to, or null (a user's own stream). */
  roomId: string | null;
  /** The user whose stream it belongs to, or null (a room's stream). */
  userId: string | null;
  /** How long ago the batch was committed. */
  ageMs: number;
}

/** The dead batches, at most `limit`, with their room or user and age. */
export async function deadLetters(
  kv: Deno.Kv,
  options: { limit?: number; now?: number } = {},
): Promise<DeadLetter[]> {
  const now = options.now ?? Date.now();
  return (await listDead(kv, { limit: options.limit })).map((d) => describeDead(d, now));
}

/** Names the room or user of a dead batch's stream, and its age at `now`. */
export function describeDead(d: DeadSummary, now: number): DeadLetter {
  const room = /^room:(.+)$/.exec(d.stream);
  const user = /^user:(.+)$/.exec(d.stream);
  return {
    ...d,
    roomId: room?.[1] ?? null,
    userId: user?.[1] ?? null,
    ageMs: Math.max(0, now - d.createdAt),
  };
}
