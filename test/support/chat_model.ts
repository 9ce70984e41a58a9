/**
 * @module A chat workload against real server processes and the model it is
 * checked against: which sends and reads were acknowledged, what was left
 * uncertain by a crash (retried later with the same `clientMessageId`, as a
 * client would), and the checks that the store agrees with the model.
 */
import assert from "node:assert/strict";

/** An acknowledged message. */
export interface Sent {
  roomId: string;
  seq: number;
  id: string;
  senderId: string;
  clientMessageId: string;
  content: string;
  /** Epoch milliseconds. */
  createdAt: number;
}

/** A request that got no answer (the server died): it may or may not have been applied. */
export type Uncertain =
  | { kind: "send"; userId: string; body: Record<string, unknown> }
  | { kind: "read"; userId: string; roomId: string; messageId: string; seq: number };

/** What the clients know for sure, plus what they still have to retry. */
export class ChatModel {
  /** Acknowledged sends by `senderId \0 clientMessageId`. */
  readonly sent = new Map<string, Sent>();
  /** Highest seq each user explicitly read per room (`userId \0 roomId`). */
  readonly reads = new Map<string, number>();
  readonly uncertain: Uncertain[] = [];

  recordSend(message: Sent): void {
    const key = `${message.senderId}\u0000${message.clientMessageId}`;
    const known = this.sent.get(key);
    if (known) {
      // A retry of an acknowledged send must return the same message.
      assert.equal(message.id, known.id, `retry of ${key} returned another message`);
      return;
    }
    this.sent.set(key, message);
  }

  recordRead(userId: string, roomId: string, seq: number): void {
    const key = `${userId}\u0000${roomId}`;
    this.reads.set(key, Math.max(this.reads.get(key) ?? 0, seq));
  }

  /** Acknowledged messages of a room, by seq. */
  roomMessages(roomId: string): Sent[] {
    return [...this.sent.values()].filter((m) => m.roomId === roomId).sort((a, b) => a.seq - b.seq);
  }

  /** Unread for a member: messages by others after the max of their own sends and explicit reads. */
  expectedUnread(userId: string, roomId: string): number {
    const messages = this.roomMessages(roomId);
    const ownMax = Math.max(0, ...messages.filter((m) => m.senderId === userId).map((m) => m.seq));
    const position = Math.max(ownMax, this.reads.get(`${userId}\u0000${roomId}`) ?? 0);
    return messages.filter((m) => m.seq > position && m.senderId !== userId).length;
  }
}

/** Calls the API of one server as a user; rejects on network errors (a dead server). */
export type Caller = (userId: string, method: string, path: string, body?: unknown) => Promise<Response>;

/** A caller for `url` with the given tokens; every request times out after 15 s. */
export function callerFor(url: () => string, tokens: Map<string, string>): Caller {
  return (userId, method, path, body) =>
    fetch(`${url()}${path}`, {
      method,
      headers: {
        Authorization: `Bearer ${tokens.get(userId)}`,
        ...(body === undefined ? {} : { "Content-Type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(15_000),
    });
}

/** Sends, retrying 503 (room busy) a few times; resolves with the message of a 200. */
export async function sendOnce(call: Caller, userId: string, body: Record<string, unknown>): Promise<Sent> {
  for (let attempt = 0;; attempt++) {
    const res = await call(userId, "POST", "/api/chat/send", body);
    const text = await res.text();
    if (res.status === 503 && attempt < 20) {
      await new Promise((resolve) => setTimeout(resolve, 20 * (attempt + 1)));
      continue;
    }
    if (res.status !== 200) throw new Error(`send as ${userId}: ${res.status} ${text}`);
    const { message } = JSON.parse(text);
    return {
      roomId: message.roomId,
      seq: message.seq,
      id: message.id,
      senderId: message.senderId,
      clientMessageId: message.clientMessageId,
      content: message.content,
      createdAt: Date.parse(message.createdAt),
    };
  }
}

/** Marks read up to a message, retrying 503; resolves once acknowledged. */
export async function readOnce(
  call: Caller,
  userId: string,
  roomId: string,
  messageId: string,
): Promise<void> {
  for (let attempt = 0;; attempt++) {
    const res = await call(userId, "POST", "/api/chat/read", { roomId, messageIds: [messageId] });
    const text = await res.text();
    if (res.status === 503 && attempt < 20) continue;
    if (res.status !== 200) throw new Error(`read as ${userId}: ${res.status} ${text}`);
    return;
  }
}

/** The workload's shape: users in pairs for direct rooms, all of them in one group. */
export interface Workload {
  users: string[];
  groupId: string;
  /** Which server each request goes to (index into the live callers). */
  callers: () => Caller[];
  /** Workers stop starting requests once this returns true. */
  stop: () => boolean;
  workers: number;
  /** Prefix of the clientMessageIds of this phase, so that phases never reuse one. */
  tag: string;
}

/**
 * Runs closed-loop workers: three sends (group or direct to the pair partner)
 * to one explicit read of an acknowledged group message. A request that fails
 * at the network level is recorded as uncertain and not retried here.
 */
export async function runWorkload(model: ChatModel, w: Workload): Promise<{ ops: number; failures: number }> {
  let next = 0;
  let failures = 0;
  const worker = async () => {
    while (!w.stop()) {
      const i = next++;
      const callers = w.callers();
      if (callers.length === 0) {
        await new Promise((resolve) => setTimeout(resolve, 10));
        continue;
      }
      const call = callers[i % callers.length]!;
      const userId = w.users[i % w.users.length]!;
      const group = model.roomMessages(w.groupId);
      if (i % 4 === 3 && group.length > 0) {
        const target = group[(i * 7) % group.length]!;
        try {
          await readOnce(call, userId, w.groupId, target.id);
          model.recordRead(userId, w.groupId, target.seq);
        } catch (err) {
          if (!(err instanceof TypeError || isAbort(err))) throw err;
          failures++;
          model.uncertain.push({
            kind: "read",
            userId,
            roomId: w.groupId,
            messageId: target.id,
            seq: target.seq,
          });
        }
        continue;
      }
      const index = w.users.indexOf(userId);
      const partner = w.users[index % 2 === 0 ? index + 1 : index - 1]!;
      const body = i % 4 === 2
        ? { receiverId: partner, content: `${w.tag} direct ${i}`, clientMessageId: `${w.tag}-${i}` }
        : { roomId: w.groupId, content: `${w.tag} group ${i}`, clientMessageId: `${w.tag}-${i}` };
      try {
        model.recordSend(await sendOnce(call, userId, body));
      } catch (err) {
        if (!(err instanceof TypeError || isAbort(err))) throw err;
        failures++;
        model.uncertain.push({ kind: "send", userId, body });
      }
    }
  };
  await Promise.all(Array.from({ length: w.workers }, worker));
  return { ops: next, failures };
}

function isAbort(err: unknown): boolean {
  return err instanceof DOMException && (err.name === "TimeoutError" || err.name === "AbortError");
}

/**
 * Retries every uncertain request against `call`, as a client would after
 * reconnecting; returns how many of the sends had been stored before the crash
 * (the retry returned a message created before `crashedAt`, epoch ms).
 */
export async function retryUncertain(
  model: ChatModel,
  call: Caller,
  crashedAt: number,
): Promise<{ sends: number; stored: number }> {
  const counts = { sends: 0, stored: 0 };
  for (const op of model.uncertain.splice(0)) {
    if (op.kind === "send") {
      counts.sends++;
      const message = await sendOnce(call, op.userId, op.body);
      if (message.createdAt <= crashedAt) counts.stored++;
      model.recordSend(message);
    } else {
      await readOnce(call, op.userId, op.roomId, op.messageId);
      model.recordRead(op.userId, op.roomId, op.seq);
    }
  }
  return counts;
}

/**
 * Checks the store against the model over HTTP: per room, seqs are exactly
 * 1..lastSeq and each stored message is one acknowledged send (same id, content,
 * clientMessageId), so every acknowledged message is stored exactly once; per
 * user, each room's unread count and the total are exact.
 */
export async function verifyStore(call: Caller, model: ChatModel, users: string[]): Promise<void> {
  const roomIds = new Set([...model.sent.values()].map((m) => m.roomId));
  for (const roomId of roomIds) {
    const expected = model.roomMessages(roomId);
    const reader = expected[0]!.senderId;
    const stored: { seq: number; id: string; senderId: string; clientMessageId?: string; content: string }[] =
      [];
    for (let more = true; more;) {
      const after = stored.length === 0 ? 0 : stored[stored.length - 1]!.seq;
      const res = await call(
        reader,
        "GET",
        `/api/chat/messages?roomId=${roomId}&afterSeq=${after}&limit=100`,
      );
      assert.equal(res.status, 200, await res.clone().text());
      const page = await res.json();
      stored.push(...page.messages);
      more = page.hasMore && page.messages.length > 0;
    }
    assert.deepEqual(stored.map((m) => m.seq), stored.map((_, i) => i + 1), `room ${roomId}: seqs 1..n`);
    assert.deepEqual(
      stored.map((m) => [m.seq, m.id, m.senderId, m.clientMessageId, m.content]),
      expected.map((m) => [m.seq, m.id, m.senderId, m.clientMessageId, m.content]),
      `room ${roomId}: stored messages are exactly the acknowledged ones`,
    );
  }
  for (const userId of users) {
    const res = await call(userId, "GET", "/api/chat/rooms?limit=100");
    assert.equal(res.status, 200);
    const list = await res.json() as { rooms: { id: string; unreadCount: number }[]; totalUnread: number };
    let total = 0;
    for (const room of list.rooms) {
      const expected = model.expectedUnread(userId, room.id);
      assert.equal(room.unreadCount, expected, `${userId} unread in ${room.id}`);
      total += expected;
    }
    for (const roomId of roomIds) {
      if (model.roomMessages(roomId).some((m) => m.senderId === userId)) {
        assert.ok(list.rooms.some((r) => r.id === roomId), `${userId} lists ${roomId}`);
      }
    }
    assert.equal(list.totalUnread, total, `${userId} totalUnread`);
  }
}

/**
 * Checks that each acknowledged message was observed at least once on its
 * room channel, and that first arrivals per room are in seq order.
 */
export function missingEvents(
  model: ChatModel,
  observed: { roomId: string; seq: number }[],
): { missing: string[]; outOfOrder: string[] } {
  const seen = new Set(observed.map((o) => `${o.roomId}:${o.seq}`));
  const missing = [...model.sent.values()].filter((m) => !seen.has(`${m.roomId}:${m.seq}`)).map((m) => m.id);
  const outOfOrder: string[] = [];
  const firstSeen = new Map<string, Set<number>>();
  const highest = new Map<string, number>();
  for (const o of observed) {
    const set = firstSeen.get(o.roomId) ?? new Set();
    firstSeen.set(o.roomId, set);
    if (set.has(o.seq)) continue;
    set.add(o.seq);
    if (o.seq < (highest.get(o.roomId) ?? 0)) outOfOrder.push(`${o.roomId}:${o.seq}`);
    highest.set(o.roomId, Math.max(highest.get(o.roomId) ?? 0, o.seq));
  }
  return { missing, outOfOrder };
}
