/**
 * @module Social notifications (follows, being added to a group, …): stored per
 * user newest first, counted unread exactly under the user's feed head, and
 * forwarded through the outbox in the same commit (`notification` on
 * `private-user-{id}`, and a OneSignal push when the user's preferences allow).
 */
import type { NotificationView } from "../api/views.ts";
import { HttpError } from "../http_error.ts";
import { outboxBatchWrite, type PushNotificationEvent, userStream } from "../outbox/outbox.ts";
import type { CommitUnit } from "../storage/commit_batcher.ts";
import { estimateBytes } from "../storage/kv_size.ts";
import { keys } from "../storage/keys.ts";
import { getManyChunked } from "../storage/kv.ts";
import { getManyPreferences } from "../storage/preferences.ts";
import type { NotificationHead, Preferences, StoredNotification } from "../storage/records.ts";
import { commitRetrying, emptyUnit } from "../storage/commit_retry.ts";
import type { NotifyDeps } from "./deps.ts";
import { lockFor } from "./keyed_lock.ts";

/** Longest notification title and body; longer ones are cut. */
export const MAX_TITLE_LENGTH = 200;
export const MAX_BODY_LENGTH = 1000;

/** What a caller says about a new notification. */
export interface NotificationInput {
  /** What happened, e.g. `"follow"` or `"group.added"`. */
  type: string;
  title: string;
  body?: string;
  /** Where a client goes when the notification is opened. */
  link?: string | null;
  metadata?: Record<string, unknown>;
}

/** The head of a user who never got a notification. */
export const EMPTY_HEAD: Readonly<NotificationHead> = Object.freeze({ lastSeq: 0, unread: 0, readAllSeq: 0 });

/**
 * The id clients see: `n` and the seq, unique per user.
 *
 * @example
 * ```ts
 * notificationId(7); // "n7"
 * ```
 */
export function notificationId(seq: number): string {
  return `n${seq}`;
}

/** The seq a notification id names, or null when it is not one. */
export function parseNotificationId(id: string): number | null {
  return /^n[1-9]\d{0,14}$/.test(id) ? Number(id.slice(1)) : null;
}

/** Whether the row counts as unread under this head. */
export function isUnread(head: NotificationHead, row: StoredNotification): boolean {
  return !row.isRead && row.seq > head.readAllSeq;
}

/** Shapes a stored notification for clients. Pure. */
export function notificationView(row: StoredNotification, head: NotificationHead): NotificationView {
  return {
    id: row.id,
    type: row.type,
    title: row.title,
    body: row.body,
    link: row.link,
    metadata: row.metadata,
    isRead: !isUnread(head, row),
    createdAt: new Date(row.createdAt).toISOString(),
  };
}

/** The head and row after appending one notification. Pure. */
export function appendStep(
  head: NotificationHead,
  input: NotificationInput,
  now: number,
): { head: NotificationHead; row: StoredNotification } {
  const seq = head.lastSeq + 1;
  const row: StoredNotification = {
    id: notificationId(seq),
    seq,
    type: input.type,
    title: cut(input.title, MAX_TITLE_LENGTH),
    body: cut(input.body ?? "", MAX_BODY_LENGTH),
    link: input.link ?? null,
    metadata: input.metadata ?? {},
    isRead: false,
    createdAt: now,
  };
  return { head: { ...head, lastSeq: seq, unread: head.unread + 1 }, row };
}

/**
 * What marking read changes: `"all"` moves the read-all mark to the newest
 * notification (O(1), rows untouched); a list of rows marks those still unread.
 * Pure: returns the new head and the rows to write.
 */
export function markReadStep(
  head: NotificationHead,
  which: "all" | StoredNotification[],
): { head: NotificationHead; rows: StoredNotification[] } {
  if (which === "all") {
    if (head.unread === 0 && head.readAllSeq === head.lastSeq) return { head, rows: [] };
    return { head: { ...head, unread: 0, readAllSeq: head.lastSeq }, rows: [] };
  }
  const seen = new Set<number>();
  const rows = which.filter((row) => isUnread(head, row) && !seen.has(row.seq) && seen.add(row.seq))
    .map((row) => ({ ...row, isRead: true }));
  return { head: { ...head, unread: head.unread - rows.length }, rows };
}

/**
 * Adds notifications to a commit of the caller's own: reads the recipients'
 * feed heads and preferences once, then `add` appends rows and outbox batches
 * and `writeTo` puts them, with checks on the heads it read, into a unit.
 * When that commit fails its checks, open a new writer for the retry.
 *
 * @example
 * ```ts
 * const writer = await NotificationWriter.open(kv, ["bob"], { push: true });
 * writer.add("bob", { type: "group.added", title: "Alice added you to Hiking", link: "/messages?room=g_1" }, now);
 * writer.writeTo(unit); // then commit `unit` (e.g. through the batcher)
 * ```
 */
export class NotificationWriter {
  readonly #heads: Map<string, Deno.KvEntryMaybe<NotificationHead>>;
  readonly #preferences: Map<string, Preferences>;
  readonly #push: boolean;
  readonly #next = new Map<string, NotificationHead>();
  readonly #mutations: Deno.KvMutation[] = [];
  readonly #wake: unknown[] = [];
  #bytes = 0;

  private constructor(
    heads: Map<string, Deno.KvEntryMaybe<NotificationHead>>,
    preferences: Map<string, Preferences>,
    push: boolean,
  ) {
    this.#heads = heads;
    this.#preferences = preferences;
    this.#push = push;
  }

  /** Reads the feed heads and preferences of the users who may get a notification. */
  static async open(
    kv: Deno.Kv,
    userIds: Iterable<string>,
    options: { push: boolean },
  ): Promise<NotificationWriter> {
    const ids = [...new Set(userIds)];
    const [entries, preferences] = await Promise.all([
      getManyChunked<NotificationHead>(kv, ids.map((id) => keys.notificationHead(id))),
      getManyPreferences(kv, ids),
    ]);
    return new NotificationWriter(new Map(ids.map((id, i) => [id, entries[i]!])), preferences, options.push);
  }

  /**
   * Appends one notification for `userId` (who must have been opened): its row,
   * the realtime event unless the user turned in-app notifications off, and a
   * push unless push is off for them or for the server.
   */
  add(userId: string, input: NotificationInput, now: number): NotificationView {
    const entry = this.#heads.get(userId);
    if (!entry) throw new RangeError(`NotificationWriter was not opened for ${userId}`);
    const { head, row } = appendStep(this.#next.get(userId) ?? entry.value ?? EMPTY_HEAD, input, now);
    this.#next.set(userId, head);
    const view = notificationView(row, head);
    const rowKey = keys.notification(userId, row.seq);
    this.#mutations.push({ type: "set", key: rowKey, value: row });
    this.#bytes += estimateBytes(rowKey, row);
    const prefs = this.#preferences.get(userId)!;
    const order = { stream: userStream(userId), order: row.seq, now };
    if (prefs.enableAllInApp) {
      this.#addOutbox(
        outboxBatchWrite("realtime", order, [{ type: "notification", userId, notification: { ...view } }]),
      );
    }
    if (this.#push && prefs.enableAllPush) {
      const event: PushNotificationEvent = {
        type: "push.notification",
        userId,
        subscriptionId: prefs.oneSignalPlayerId,
        eventId: `notification:${userId}:${row.seq}`,
        notification: view,
      };
      this.#addOutbox(outboxBatchWrite("push", order, [event]));
    }
    return view;
  }

  /** Whether `add` was called at all. */
  get isEmpty(): boolean {
    return this.#next.size === 0;
  }

  /** Adds the checks on the heads that changed, and every write, to `unit`. */
  writeTo(unit: CommitUnit): void {
    for (const [userId, head] of this.#next) {
      const key = keys.notificationHead(userId);
      unit.checks.push({ key, versionstamp: this.#heads.get(userId)!.versionstamp });
      unit.mutations.push({ type: "set", key, value: head });
      unit.bytes += estimateBytes(key, head);
    }
    unit.mutations.push(...this.#mutations);
    if (this.#wake.length > 0) (unit.wake ??= []).push(...this.#wake);
    unit.bytes += this.#bytes;
  }

  #addOutbox(write: { mutations: Deno.KvMutation[]; wake: unknown[]; bytes: number }): void {
    this.#mutations.push(...write.mutations);
    this.#wake.push(...write.wake);
    this.#bytes += write.bytes;
  }
}

/**
 * Stores one notification for `userId` and forwards it, in its own commit.
 * Use `NotificationWriter` instead to make it part of a commit of your own.
 *
 * @example
 * ```ts
 * await notify(deps, "bob", { type: "group.added", title: "Alice added you to Hiking" });
 * ```
 * @throws {HttpError} 503 when the user's feed stays contended.
 */
export function notify(
  deps: NotifyDeps,
  userId: string,
  input: NotificationInput,
): Promise<NotificationView> {
  return lockFor(deps.kv).run([userId], () =>
    commitRetrying(deps.batcher, async () => {
      const writer = await NotificationWriter.open(deps.kv, [userId], { push: deps.push });
      const result = writer.add(userId, input, Date.now());
      const unit = emptyUnit();
      writer.writeTo(unit);
      return { unit, result };
    }));
}

/** A page of the user's notifications. */
export interface NotificationPage {
  notifications: NotificationView[];
  unreadCount: number;
  hasMore: boolean;
  /** Pass as `before` to read the next (older) page. */
  nextCursor?: string;
}

/**
 * The user's notifications newest first, older than `before` (a notification
 * id), at most `limit`: one bounded range read.
 *
 * @throws {HttpError} 400 when `before` is not a notification id.
 */
export async function listNotifications(
  kv: Deno.Kv,
  userId: string,
  options: { limit: number; before?: string },
): Promise<NotificationPage> {
  const before = options.before === undefined ? undefined : parseNotificationId(options.before);
  if (before === null) throw new HttpError(400, "before: not a notification id");
  const prefix = keys.notifications(userId);
  const selector = before === undefined ? { prefix } : { prefix, end: keys.notification(userId, before) };
  const [head, rows] = await Promise.all([
    readHead(kv, userId),
    Array.fromAsync(kv.list<StoredNotification>(selector, { reverse: true, limit: options.limit + 1 })),
  ]);
  const page = rows.slice(0, options.limit).map((e) => notificationView(e.value, head.value ?? EMPTY_HEAD));
  const hasMore = rows.length > options.limit;
  return {
    notifications: page,
    unreadCount: (head.value ?? EMPTY_HEAD).unread,
    hasMore,
    ...(hasMore ? { nextCursor: page[page.length - 1]!.id } : {}),
  };
}

/** How many of the user's notifications are unread. */
export async function unreadNotifications(kv: Deno.Kv, userId: string): Promise<number> {
  return ((await readHead(kv, userId)).value ?? EMPTY_HEAD).unread;
}

/**
 * Marks the given notifications read, or all of them when `ids` is absent, and
 * returns the unread count after. Unknown ids and already read ones are ignored.
 *
 * @throws {HttpError} 400 when an id is not a notification id, 503 when contended.
 */
export async function markNotificationsRead(
  deps: NotifyDeps,
  userId: string,
  ids?: string[],
): Promise<number> {
  const seqs = ids?.map((id) => {
    const seq = parseNotificationId(id);
    if (seq === null) throw new HttpError(400, `ids: ${id} is not a notification id`);
    return seq;
  });
  return await lockFor(deps.kv).run([userId], () =>
    commitRetrying(deps.batcher, async () => {
      // Head first: rows change only in commits that also set the head, so rows read
      // after it are at least as new, and the head's check catches anything newer.
      const headEntry = await readHead(deps.kv, userId);
      const rows = seqs === undefined ? [] : await readRows(deps.kv, userId, seqs);
      const current = headEntry.value ?? EMPTY_HEAD;
      const next = markReadStep(current, seqs === undefined ? "all" : rows);
      if (next.head === current || (seqs !== undefined && next.rows.length === 0)) {
        return { unit: null, result: current.unread };
      }
      const unit = emptyUnit();
      const headKey = keys.notificationHead(userId);
      unit.checks.push(headEntry);
      unit.mutations.push({ type: "set", key: headKey, value: next.head });
      unit.bytes += estimateBytes(headKey, next.head);
      for (const row of next.rows) {
        const key = keys.notification(userId, row.seq);
        unit.mutations.push({ type: "set", key, value: row });
        unit.bytes += estimateBytes(key, row);
      }
      return { unit, result: next.head.unread };
    }));
}

async function readHead(kv: Deno.Kv, userId: string): Promise<Deno.KvEntryMaybe<NotificationHead>> {
  return await kv.get<NotificationHead>(keys.notificationHead(userId));
}

async function readRows(kv: Deno.Kv, userId: string, seqs: number[]): Promise<StoredNotification[]> {
  const unique = [...new Set(seqs)];
  const entries = await getManyChunked<StoredNotification>(
    kv,
    unique.map((s) => keys.notification(userId, s)),
  );
  return entries.flatMap((e) => (e.value ? [e.value] : []));
}

function cut(text: string, length: number): string {
  const chars = [...text];
  return chars.length <= length ? text : chars.slice(0, length).join("");
}
