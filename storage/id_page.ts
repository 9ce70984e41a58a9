/** @module Paging through user ids stored as the last part of keys under a prefix. */
import type { Key } from "./keys.ts";

/** One page of user ids, in id order. */
export interface IdPage {
  userIds: string[];
  /** Pass as `cursor` to read the next page. */
  nextCursor?: string;
}

/**
 * The ids after `cursor` under `prefix` (keys `[...prefix, userId]`), at most
 * `limit`: one bounded range read, whatever the total.
 */
export async function listIdPage(
  kv: Deno.Kv,
  prefix: Deno.KvKey,
  options: { limit: number; cursor?: string; idOf?: (key: Key) => string },
): Promise<IdPage> {
  const idOf = options.idOf ?? ((key: Key) => key[prefix.length] as string);
  // The first key after the cursor's: no id continues with U+0000.
  const selector = options.cursor === undefined
    ? { prefix }
    : { prefix, start: [...prefix, `${options.cursor}\u0000`] };
  const found: string[] = [];
  for await (const entry of kv.list(selector, { limit: options.limit + 1 })) {
    found.push(idOf(entry.key));
  }
  const userIds = found.slice(0, options.limit);
  return { userIds, ...(found.length > options.limit ? { nextCursor: userIds[userIds.length - 1] } : {}) };
}
