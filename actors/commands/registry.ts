/**
 * @module The command table: every room command kind and its entry. Adding a
 * command is one entry file and one line here; the command union, the result
 * types and the dispatch follow from the table.
 */
import type { CommandEntry, EventType, FactKind, Needs, RoomContext, StepOptions } from "./command.ts";
import type { Batch } from "./command.ts";
import { addMembers } from "./add_members.ts";
import { archive } from "./archive.ts";
import { createGroup } from "./create_group.ts";
import { createUpload } from "./create_upload.ts";
import { deleteMessage } from "./delete.ts";
import { edit } from "./edit.ts";
import { openDirect } from "./open_direct.ts";
import { react } from "./react.ts";
import { read } from "./read.ts";
import { removeMember } from "./remove_member.ts";
import { send } from "./send.ts";
import { setRole } from "./set_role.ts";
import { updateRoom } from "./update_room.ts";

/** Every room command, by kind. */
const COMMANDS = {
  createGroup,
  openDirect,
  send,
  read,
  edit,
  delete: deleteMessage,
  react,
  addMembers,
  removeMember,
  updateRoom,
  setRole,
  archive,
  createUpload,
};

type Commands = typeof COMMANDS;
/** The kinds of room command. */
export type CommandKind = keyof Commands;
/** Each kind's command, as its entry's `apply` takes it. */
export type CommandMap = { [K in CommandKind]: Parameters<Commands[K]["apply"]>[1] };
/** Each kind's result, as its entry's `apply` returns it. */
export type ResultMap = { [K in CommandKind]: ReturnType<Commands[K]["apply"]> };
/** What a room can be asked to do. */
export type RoomCommand = CommandMap[CommandKind];
/** The result type of a command. */
export type ResultOf<C extends RoomCommand> = ResultMap[C["kind"]];
/** The command of kind `K`, as `applyCommand` infers the kind from it. */
export type CommandOf<K extends CommandKind> = CommandMap[K] & { kind: K };

/** The table as the dispatcher sees it: each kind's entry over all facts and events. */
const TABLE: { [K in CommandKind]: CommandEntry<CommandMap[K], ResultMap[K], FactKind, EventType> } =
  COMMANDS;

/**
 * Applies one command to the batch, then records the derived rows it causes.
 * A command either applies completely or throws before changing anything, so
 * a rejected command never disturbs the others in its batch.
 *
 * @throws {HttpError} when the command is not allowed (403, 404, 429, 400, 409).
 */
export function applyCommand<K extends CommandKind>(
  work: Batch,
  cmd: CommandOf<K>,
  options: StepOptions,
): ResultMap[K] {
  const entry: CommandEntry<CommandMap[K], ResultMap[K], FactKind, EventType> = TABLE[cmd.kind];
  const result = entry.apply(work, cmd, options);
  work.derivedRows.push(...entry.derivedRows?.(work, cmd, result) ?? []);
  return result;
}

/** What one command needs read, as its entry declares it. */
export function needsOf<K extends CommandKind>(cmd: CommandOf<K>, room: RoomContext): Needs<FactKind> {
  const entry: CommandEntry<CommandMap[K], ResultMap[K], FactKind, EventType> = TABLE[cmd.kind];
  return entry.needs(cmd, room);
}

/** The user a command acts for. */
export function actorOf<K extends CommandKind>(cmd: CommandOf<K>): string {
  const entry: CommandEntry<CommandMap[K], ResultMap[K], FactKind, EventType> = TABLE[cmd.kind];
  return entry.actor(cmd);
}

/** A high estimate of what a command adds to a commit (message row, outbox copy, push text). */
export function commandBytes<K extends CommandKind>(cmd: CommandOf<K>): number {
  const entry: CommandEntry<CommandMap[K], ResultMap[K], FactKind, EventType> = TABLE[cmd.kind];
  return entry.estimateBytes?.(cmd) ?? 1024;
}

/** The facts and events each kind declared (tests check `apply` against them). */
export function declared(kind: CommandKind): { facts: readonly FactKind[]; emits: readonly EventType[] } {
  return { facts: TABLE[kind].facts, emits: TABLE[kind].emits };
}

/** Every command kind. */
export const COMMAND_KINDS = Object.keys(COMMANDS) as CommandKind[];
