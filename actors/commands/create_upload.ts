/**
 * @module The `createUpload` command: an active member starts an attachment
 * upload in the room. It counts against the write limit; the upload record and
 * its sweep entry are written in the room's commit, so membership and the
 * limit are checked against the same head.
 */
import { keys } from "../../storage/keys.ts";
import type { UploadRecord } from "../../storage/records.ts";
import { defineCommand } from "./command.ts";
import { activeRoom, takeSlot } from "./rules.ts";

/** Creates `upload` (its id, room and owner already set) for `userId`. */
export interface CreateUploadCommand {
  kind: "createUpload";
  userId: string;
  upload: UploadRecord;
}

export const createUpload = defineCommand({
  facts: ["rateLogs"],
  emits: [],
  actor: (cmd: CreateUploadCommand) => cmd.userId,
  needs: (cmd: CreateUploadCommand) => ({ rateLogs: { kind: "write", userId: cmd.userId } }),
  apply(work, cmd: CreateUploadCommand, options): UploadRecord {
    activeRoom(work, cmd.userId);
    takeSlot(work, "write", cmd.userId, options);
    return cmd.upload;
  },
  derivedRows: (_work, _cmd, upload) => [
    { key: keys.upload(upload.id), value: upload },
    { key: keys.uploadSweep(upload.sweepAt, upload.id), value: null },
  ],
  estimateBytes: (cmd: CreateUploadCommand) => 2 * JSON.stringify(cmd.upload).length + 512,
});
