/**
 * @module Domain limits: what one message, one group and one room head may
 * hold. The request schemas, the room commands and the stores read them here.
 */

/** Longest message text, in characters after trimming. */
export const MAX_CONTENT_LENGTH = 4000;
/** Largest `metadata`, as JSON. */
export const MAX_METADATA_BYTES = 2048;
/** Longest `clientMessageId` (and `clientGroupId`). */
export const MAX_CLIENT_MESSAGE_ID = 64;
/** Longest reaction, in UTF-16 code units: room for ZWJ sequences and `:shortcodes:`. */
export const MAX_EMOJI_LENGTH = 32;
/** Longest user, group or profile name. */
export const MAX_NAME_LENGTH = 100;

/** The most members a group holds: the head (≤ 64 KiB) and one commit (≤ 1000 writes) must fit them. */
export const MAX_GROUP_MEMBERS = 200;
/** The most users one request names besides the caller (create a group, add members). */
export const MAX_USERS_PER_REQUEST = MAX_GROUP_MEMBERS - 1;
/** Different emojis one message can carry. */
export const MAX_REACTION_KINDS = 20;
/** Edits one message can take: every previous version is kept, so they are bounded. */
export const MAX_EDITS = 100;
/** Most rooms one user can mute; keeps the record far below KV's 64 KiB value limit. */
export const MAX_MUTED_ROOMS = 200;

/** A message row stays below KV's 64 KiB value limit, with room to spare. */
export const MAX_MESSAGE_ROW_BYTES = 60 * 1024;
/** The head stays below KV's 64 KiB value limit; former members are forgotten first. */
export const MAX_HEAD_BYTES = 60 * 1024;
/** Deleted-but-unread seqs kept for exact unread counts; older ones are dropped (they count as unread). */
export const MAX_DELETED_UNREAD = 2000;
/**
 * What the members' own keys may add to one commit: a send moves every member's
 * room-list entry and unread total, and KV takes at most 80 KiB of keys per
 * atomic. Long user ids therefore bound a group below `MAX_GROUP_MEMBERS`.
 */
export const MAX_MEMBER_KEY_BYTES = 72 * 1024;
