/**
 * @module What happens inside the open room, as pure functions of its state (web/store.js calls
 * them from its reducers): messages kept in seq order with one per seq, pending sends replaced by
 * the message that confirms them, read receipts that only move forward, typing, event patches.
 */

/**
 * Inserts or replaces messages by seq, and drops the pending sends they confirm. The list stays in
 * seq order with one message per seq, whatever order messages come in; a copy of a message that is
 * not read yet never takes back the receipt of one that is.
 * @param {import("./store.js").OpenRoom} open
 * @param {import("./store.js").Message[]} messages
 * @param {string | undefined} meId
 */
export function insertMessages(open, messages, meId) {
  const list = mergeBySeq(open.messages, messages);
  const confirmed = new Set(
    messages.filter((m) => m.senderId === meId && m.clientMessageId).map((m) => m.clientMessageId),
  );
  const pending = open.pending.some((p) => confirmed.has(p.clientMessageId))
    ? open.pending.filter((p) => !confirmed.has(p.clientMessageId))
    : open.pending;
  const lastSeq = messages.reduce((max, m) => Math.max(max, m.seq), open.lastSeq);
  if (list === open.messages && pending === open.pending && lastSeq === open.lastSeq) return open;
  return { ...open, messages: list, pending, lastSeq };
}

function mergeBySeq(list, incoming) {
  let out = list;
  for (const message of incoming) {
    const i = firstAtOrAfter(out, message.seq);
    const previous = out[i]?.seq === message.seq ? out[i] : undefined;
    const next = previous?.isRead && !message.isRead
      ? { ...message, isRead: true, readAt: previous.readAt }
      : message;
    if (previous === next) continue;
    if (out === list) out = [...list];
    if (previous) out[i] = next;
    else out.splice(i, 0, next);
  }
  return out;
}

/** Index of the first message with a seq ≥ `seq` (binary search; the list is in seq order). */
function firstAtOrAfter(list, seq) {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid].seq < seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Takes a message out of the list (deleted); `lastSeq` stays, as the seq stays taken. */
export function removeMessage(open, messageId) {
  const messages = open.messages.filter((m) => m.id !== messageId);
  return messages.length === open.messages.length ? open : { ...open, messages };
}

/** Replaces a message the list has (an edit, a reaction, a fresh copy); unknown ones are ignored. */
export function replaceMessage(open, message, meId) {
  return open.messages.some((m) => m.seq === message.seq) ? insertMessages(open, [message], meId) : open;
}

/**
 * Another member read up to `seq`: the user's own messages up to it turn read, in a group once
 * every other member has read them.
 * @param {import("./store.js").OpenRoom} open
 * @param {{readBy: string, seq: number, readAt: string}} read
 * @param {{meId: string, summary: import("./store.js").RoomSummary | undefined}} room
 */
export function markReadBy(open, { readBy, seq, readAt }, { meId, summary }) {
  if (readBy === meId) return open;
  const readSeqs = { ...open.readSeqs, [readBy]: Math.max(open.readSeqs[readBy] ?? 0, seq) };
  const others = (summary?.participants ?? []).filter((p) => p.id !== meId).map((p) => p.id);
  const readByAll = (m) =>
    summary?.type !== "GROUP" || others.every((id) => id === m.senderId || (readSeqs[id] ?? 0) >= m.seq);
  let changed = false;
  const messages = open.messages.map((m) => {
    if (m.senderId !== meId || m.isRead || m.seq > seq || !readByAll(m)) return m;
    changed = true;
    return { ...m, isRead: true, readAt };
  });
  return { ...open, readSeqs, messages: changed ? messages : open.messages };
}

/** Receipts from a fresh copy of the newest page (after a resubscription): read ones turn read. */
export function takeReceipts(open, fresh) {
  const read = new Map(fresh.filter((m) => m.isRead).map((m) => [m.seq, m]));
  let changed = false;
  const messages = open.messages.map((m) => {
    const copy = read.get(m.seq);
    if (!copy || m.isRead) return m;
    changed = true;
    return { ...m, isRead: true, readAt: copy.readAt };
  });
  return changed ? { ...open, messages } : open;
}

/**
 * The message after a `message-updated` or `reaction-updated` event, or null when the event does
 * not say enough (truncated, or a shape we do not know) and the message must be fetched again.
 */
export function patchedMessage(current, data) {
  if (data.message) return { ...current, ...data.message };
  if (data.truncated) return null;
  if (typeof data.emoji === "string" && Array.isArray(data.userIds)) {
    const others = (current.reactions ?? []).filter((r) => r.emoji !== data.emoji);
    const reactions = data.userIds.length > 0
      ? [...others, { emoji: data.emoji, count: data.userIds.length, userIds: data.userIds }]
      : others;
    // Keep the emoji's place in the row when it is already there.
    const order = (current.reactions ?? []).map((r) => r.emoji);
    reactions.sort((a, b) => rank(order, a.emoji) - rank(order, b.emoji));
    return { ...current, reactions };
  }
  const patch = {};
  for (const key of ["content", "isEdited", "editedAt", "reactions"]) if (key in data) patch[key] = data[key];
  return Object.keys(patch).length > 0 ? { ...current, ...patch } : null;
}

function rank(order, emoji) {
  const i = order.indexOf(emoji);
  return i === -1 ? order.length : i;
}

// ---- Pending sends -------------------------------------------------------------------------------

/** A send on its way: shown after the messages until the message that confirms it arrives. */
export function addPending(open, { clientMessageId, body, at }) {
  if (open.pending.some((p) => p.clientMessageId === clientMessageId)) return open;
  return { ...open, pending: [...open.pending, { clientMessageId, body, status: "sending", at }] };
}

/** A send the server did not take; one already confirmed stays confirmed. */
export function failPending(open, clientMessageId) {
  if (!open.pending.some((p) => p.clientMessageId === clientMessageId)) return open;
  return {
    ...open,
    pending: open.pending.map((p) => p.clientMessageId === clientMessageId ? { ...p, status: "failed" } : p),
  };
}

/** A failed send tried again (same clientMessageId, so it cannot double): it moves to the end. */
export function retryPending(open, clientMessageId, at) {
  const entry = open.pending.find((p) => p.clientMessageId === clientMessageId);
  if (!entry) return open;
  return {
    ...open,
    pending: [...open.pending.filter((p) => p !== entry), { ...entry, status: "sending", at }],
  };
}

// ---- Typing --------------------------------------------------------------------------------------

/** Someone started (until `until`) or stopped typing. */
export function setTyping(open, { userId, userName, isTyping, until }) {
  if (!isTyping) return clearTyping(open, userId);
  return { ...open, typing: { ...open.typing, [userId]: { name: userName ?? userId, until } } };
}

/** Forgets who is typing; nothing changes when they were not. */
export function clearTyping(open, userId) {
  if (!(userId in open.typing)) return open;
  const { [userId]: _, ...typing } = open.typing;
  return { ...open, typing };
}

/** Forgets a typing line when it is still the one that was to end at `until` (no newer event came). */
export function expireTyping(open, userId, until) {
  return open.typing[userId]?.until === until ? clearTyping(open, userId) : open;
}
