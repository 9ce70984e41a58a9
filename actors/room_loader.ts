/**
 * @module Reads what a batch's commands declared they need besides the head:
 * their needs merged into one `getMany` (then the message rows those name, and
 * the newest rows when a delete may move the preview), plus the receipts of
 * unsure attempts. Reading after the head is safe: every write to the room's
 * own rows also changes the head, so the head's check fails if they moved.
 * Rows written elsewhere (rate logs, blocks) are checked by the commit itself.
 */
import { keys } from "../storage/keys.ts";
import { parseKey } from "../storage/key_parsers.ts";
import { getManyChunked } from "../storage/kv.ts";
import type { RoomState, StoredMessage, UploadRecord } from "../storage/records.ts";
import type { RateKind } from "./rate_limit.ts";
import {
  blockKey,
  clientMessageKey,
  type ClientMessageRecord,
  emptyFacts,
  type Facts,
  rateLogKey,
} from "./commands/command.ts";
import { needsOf, type RoomCommand } from "./commands/registry.ts";
import type { RateLogVersions } from "./room_writes.ts";

/** What a batch read besides the head. */
export interface Loaded {
  facts: Facts;
  rateLogVersions: RateLogVersions;
  /** Rows the batch decides on but does not write; the commit checks them. */
  readChecks: Deno.AtomicCheck[];
  /** A direct room's block rows, when a command needed them; `cached`: from the slot, not read now. */
  directBlocks?: { entries: Deno.KvEntryMaybe<unknown>[]; cached: boolean };
  /** Which of the unsure attempts' receipts exist: those attempts were committed. */
  receipts: Set<string>;
}

/** What to load for one batch. */
export interface LoadRequest {
  roomId: string;
  state: RoomState | null;
  commands: RoomCommand[];
  /** A direct room's block rows as read with the cached head; used instead of reading them. */
  cachedBlocks?: Deno.KvEntryMaybe<unknown>[];
  /** Receipts of attempts whose outcome went unreported. */
  receipts: string[];
  /** Rate logs are read only for limits that are on. */
  sendLimit: number;
  writeLimit: number;
}

/** Reads the batch's declared needs. */
export async function loadFacts(kv: Deno.Kv, request: LoadRequest): Promise<Loaded> {
  const { roomId, state } = request;
  const facts = emptyFacts();
  const rateLogVersions: RateLogVersions = new Map();
  const seqs = new Set<number>();
  const clientIds: [string, string][] = [];
  const rateLogs = new Map<string, [RateKind, string]>();
  const adds = new Map<string, Set<string>>(); // actor → users they put into a group
  let pair: [string, string] | undefined;
  let deletes: number[] | undefined;
  const uploadIds = new Set<string>();
  for (const cmd of request.commands) {
    const needs = needsOf(cmd, { roomId, state });
    for (const seq of needs.messages ?? []) seqs.add(seq);
    clientIds.push(...needs.clientMessages ?? []);
    if (needs.rateLogs) {
      const { kind, userId } = needs.rateLogs;
      const limit = kind === "send" ? request.sendLimit : request.writeLimit;
      if (limit > 0) rateLogs.set(rateLogKey(kind, userId), [kind, userId]);
    }
    if (needs.blocks && "direct" in needs.blocks) pair ??= needs.blocks.direct;
    if (needs.blocks && "addedBy" in needs.blocks) {
      const targets = adds.get(needs.blocks.addedBy) ?? new Set();
      for (const id of needs.blocks.userIds) targets.add(id);
      adds.set(needs.blocks.addedBy, targets);
    }
    if (needs.recent) deletes = [...deletes ?? [], ...needs.recent];
    for (const id of needs.uploads ?? []) uploadIds.add(id);
  }
  const uploads = [...uploadIds];
  const cached = pair ? request.cachedBlocks : undefined;
  const directBlockKeys = cached || !pair ? [] : [keys.block(pair[0], pair[1]), keys.block(pair[1], pair[0])];
  const addBlockKeys = [...adds].flatMap(([actor, targets]) =>
    [...targets].map((id) => keys.block(id, actor))
  );
  const logs = [...rateLogs];
  const groups = [
    clientIds.map(([sender, id]) => keys.clientMessage(roomId, sender, id)),
    logs.map(([, [kind, userId]]) => keys.rateLog(kind, userId)),
    directBlockKeys,
    addBlockKeys,
    [...adds.keys()].map((actor) => keys.blockedEpoch(actor)),
    request.receipts.map((receipt) => keys.commitReceipt(roomId, receipt)),
    uploads.map((id) => keys.upload(id)),
  ] as const;
  const all = await getManyChunked<unknown>(kv, groups.flat());
  const [clientRows, logRows, directBlocks, addBlocks, epochs, receiptRows, uploadRows] = sliceBy(
    all,
    groups,
  );
  uploads.forEach((id, i) => facts.uploads.set(id, uploadRows[i]!.value as UploadRecord | null));

  const direct = pair ? (cached ?? directBlocks) : [];
  for (const { key, value } of [...direct, ...addBlocks]) {
    const { blockerId, blockedId } = parseKey.block(key);
    facts.blocks.set(blockKey(blockerId, blockedId), value !== null);
  }
  clientIds.forEach(([sender, id], i) => {
    const record = clientRecord(clientRows[i]!.value);
    facts.clientMessages.set(clientMessageKey(sender, id), record);
    if (record !== null) seqs.add(record.seq);
  });
  logs.forEach(([logKey], i) => {
    const entry = logRows[i]!;
    facts.rateLogs.set(logKey, (entry.value as number[] | null) ?? []);
    rateLogVersions.set(logKey, entry.versionstamp);
  });
  const wanted = [...seqs];
  const rows = await getManyChunked<StoredMessage>(kv, wanted.map((seq) => keys.message(roomId, seq)));
  wanted.forEach((seq, i) => facts.messages.set(seq, rows[i]!.value));
  if (state !== null && deletes !== undefined) await loadRecent(kv, { roomId, state, deletes }, facts);
  return {
    facts,
    rateLogVersions,
    readChecks: [...direct, ...epochs, ...uploadRows].map(({ key, versionstamp }) => ({ key, versionstamp })),
    ...(pair ? { directBlocks: { entries: direct, cached: cached !== undefined } } : {}),
    receipts: new Set(request.receipts.filter((_, i) => receiptRows[i]!.versionstamp !== null)),
  };
}

/**
 * When a delete in the batch may hit the room's latest visible message, reads
 * the newest rows until one more visible message than the batch has deletes
 * is found (or the history ends), so that the preview can fall back.
 */
async function loadRecent(
  kv: Deno.Kv,
  { roomId, state, deletes }: { roomId: string; state: RoomState; deletes: number[] },
  facts: Facts,
): Promise<void> {
  const latest = state.lastMessage?.seq;
  if (latest === undefined) {
    // No visible message at all: anything the batch deletes falls back to nothing.
    facts.recent = { floor: state.lastSeq + 1, noneBelow: true };
    return;
  }
  if (!deletes.some((seq) => seq >= latest)) return;
  let visible = 0;
  let floor = state.lastSeq + 1;
  const selector = { start: keys.message(roomId, 1), end: keys.message(roomId, state.lastSeq + 1) };
  for await (const entry of kv.list<StoredMessage>(selector, { reverse: true, batchSize: 64 })) {
    facts.messages.set(entry.value.seq, entry.value);
    floor = entry.value.seq;
    if (entry.value.deletedAt === undefined && ++visible > deletes.length) break;
  }
  facts.recent = { floor, noneBelow: visible <= deletes.length };
}

/** An idempotency record as stored: `{seq, fingerprint}`, or a bare seq in rows written before. */
function clientRecord(value: unknown): ClientMessageRecord | null {
  if (typeof value === "number") return { seq: value };
  return (value as ClientMessageRecord | null) ?? null;
}

/** Splits `all` into consecutive pieces as long as each of `groups`. */
function sliceBy<T, G extends readonly (readonly unknown[])[]>(all: T[], groups: G): { [K in keyof G]: T[] } {
  let at = 0;
  return groups.map((group) => all.slice(at, at += group.length)) as { [K in keyof G]: T[] };
}
