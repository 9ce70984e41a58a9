/**
 * @module Zod schemas of the HTTP API: they validate requests at the edge and
 * generate the OpenAPI document, so the two cannot disagree.
 */
import { z } from "@hono/zod-openapi";
import { isHttpUrl } from "../auth/jwt.ts";
import { ID_PATTERN } from "../storage/ids.ts";
import { Iso, MessageSchema, MessageVersionSchema, ProfileSchema, RoomSchema } from "../api/views.ts";
import {
  MAX_CLIENT_MESSAGE_ID,
  MAX_CONTENT_LENGTH,
  MAX_EMOJI_LENGTH,
  MAX_METADATA_BYTES,
  MAX_NAME_LENGTH,
  MAX_USERS_PER_REQUEST,
} from "../limits.ts";

export const ErrorSchema = z.object({ error: z.string() }).openapi("Error", {
  example: { error: "Unauthorized" },
});

/** A user or room id; these become Pusher channel names. */
export const Id = z.string().regex(ID_PATTERN, "must be 1-128 of A-Z a-z 0-9 _ - = @ , . ;");
const MessageId = z.string().min(3).max(160).openapi({ example: "g_4f1c…:42" });
const HttpUrl = z.string().max(2048).refine(isHttpUrl, "must be an http(s) URL");
/** An upload's id, as `POST /api/chat/uploads` gives it. */
export const UploadId = z.string().regex(/^up_[A-Za-z0-9_-]{22}$/, "must be an upload id").openapi({
  example: "up_3q2-7wEjR0yJcHk1vT9xAb",
});
/** What a send with `uploadId` takes from the upload instead of the body. */
const UPLOAD_FIELDS = ["attachmentUrl", "attachmentType", "attachmentName", "attachmentSize"] as const;

const Content = z.string().max(MAX_CONTENT_LENGTH * 2).transform((s) => s.trim());

export const SendBody = z.object({
  receiverId: Id.optional(),
  roomId: Id.optional(),
  content: Content.default(""),
  type: z.enum(["text", "image", "file"]).default("text"),
  attachmentUrl: HttpUrl.optional(),
  attachmentType: z.string().regex(/^[\w.+-]+\/[\w.+-]+$/, "must be a MIME type such as image/png").max(255)
    .optional(),
  attachmentName: z.string().trim().min(1).max(255).optional(),
  attachmentSize: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  replyToId: MessageId.optional(),
  metadata: z.record(z.string(), z.unknown()).refine(
    (m) => new TextEncoder().encode(JSON.stringify(m)).length <= MAX_METADATA_BYTES,
    `must be at most ${MAX_METADATA_BYTES} bytes of JSON`,
  ).optional(),
  clientMessageId: z.string().min(1).max(MAX_CLIENT_MESSAGE_ID).optional().openapi({
    description:
      "Makes the send idempotent: a retry with the same id (from the same sender, in the same room) " +
      "returns the original message and creates nothing, also after the sender left; the same id with a " +
      "different body is 409",
  }),
  uploadId: UploadId.optional().openapi({
    description:
      "Attaches a complete upload of the caller's, made for this room (`POST /api/chat/uploads`): " +
      "the message gets `attachmentUrl` (signed, expiring), `attachmentType`, `attachmentName`, " +
      "`attachmentSize` and, for images, `attachmentWidth` and `attachmentHeight`. Not with `attachmentUrl`.",
  }),
}).superRefine((body, ctx) => {
  if ((body.receiverId === undefined) === (body.roomId === undefined)) {
    ctx.addIssue({
      code: "custom",
      path: ["receiverId"],
      message: "give exactly one of receiverId and roomId",
    });
  }
  const hasAttachment = body.attachmentUrl !== undefined || body.uploadId !== undefined;
  if (body.uploadId !== undefined) {
    const given = UPLOAD_FIELDS.find((field) => body[field] !== undefined);
    if (given) {
      ctx.addIssue({ code: "custom", path: [given], message: "comes from the upload with uploadId" });
    }
  }
  if (body.type !== "text" && !hasAttachment) {
    ctx.addIssue({
      code: "custom",
      path: ["attachmentUrl"],
      message: `is required for type ${body.type} (or uploadId)`,
    });
  }
  if (body.type === "text" && hasAttachment) {
    ctx.addIssue({
      code: "custom",
      path: ["type"],
      message: "must be image or file with an attachment",
    });
  }
  if (body.content.length === 0 && !hasAttachment) {
    ctx.addIssue({ code: "custom", path: ["content"], message: "must not be empty" });
  }
  if (Array.from(body.content).length > MAX_CONTENT_LENGTH) {
    ctx.addIssue({
      code: "custom",
      path: ["content"],
      message: `must be at most ${MAX_CONTENT_LENGTH} characters`,
    });
  }
}).openapi("SendRequest");

export const SendResponse = z.object({ success: z.literal(true), message: MessageSchema });

export const RoomsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: z.string().max(1024).optional(),
  archived: z.enum(["true", "false"]).default("false").transform((v) => v === "true"),
});

export const RoomsResponse = z.object({
  success: z.literal(true),
  rooms: z.array(RoomSchema),
  totalUnread: z.number().int(),
  nextCursor: z.string().optional(),
});

export const MessagesQuery = z.object({
  roomId: Id,
  limit: z.coerce.number().int().min(1).max(100).default(50),
  beforeId: MessageId.optional(),
  afterSeq: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
}).refine((q) => q.beforeId === undefined || q.afterSeq === undefined, {
  path: ["afterSeq"],
  message: "cannot be combined with beforeId",
});

export const MessagesResponse = z.object({
  success: z.literal(true),
  messages: z.array(MessageSchema),
  hasMore: z.boolean(),
});

export const StartBody = z.object({ receiverId: Id });
export const RoomIdResponse = z.object({ success: z.literal(true), roomId: z.string() });

export const ReadBody = z.object({
  roomId: Id,
  messageIds: z.array(MessageId).max(100).optional(),
});
export const ReadResponse = z.object({ success: z.literal(true), unreadCount: z.number().int() });

export const TypingBody = z.object({ roomId: Id, isTyping: z.boolean() });
export const AcceptedResponse = z.object({ success: z.literal(true) });

export const GroupBody = z.object({
  name: z.string().trim().min(1).max(MAX_NAME_LENGTH),
  memberIds: z.array(Id).min(1).max(MAX_USERS_PER_REQUEST),
  avatar: HttpUrl.nullable().optional(),
  clientGroupId: z.string().min(1).max(MAX_CLIENT_MESSAGE_ID).optional().openapi({
    description: "Makes the request idempotent: a retry with the same id returns the same room and creates " +
      "nothing; the same id with a different name, avatar or members is 409",
  }),
});

export const DevLoginBody = z.object({
  userId: Id,
  name: z.string().trim().min(1).max(MAX_NAME_LENGTH),
  avatar: HttpUrl.optional(),
});
export const TokenResponse = z.object({ token: z.string() });

export const UserSchema = ProfileSchema.extend({
  createdAt: Iso,
  updatedAt: Iso,
}).openapi("User");

export const ProvisionBody = z.object({
  name: z.string().trim().min(1).max(MAX_NAME_LENGTH),
  avatar: HttpUrl.nullable().optional(),
});

/** A message id path parameter: `{roomId}:{seq}`. */
export const MessageIdParam = z.object({
  id: z.string().min(3).max(160).openapi({ param: { name: "id", in: "path" }, example: "g_4f1c…:42" }),
});

/** A room id path parameter. */
export const RoomIdParam = z.object({ id: Id.openapi({ param: { name: "id", in: "path" } }) });

/** A room id and a member's user id as path parameters. */
export const RoomMemberParams = z.object({
  id: Id.openapi({ param: { name: "id", in: "path" } }),
  userId: Id.openapi({ param: { name: "userId", in: "path" } }),
});

export const EditBody = z.object({ content: Content }).superRefine((body, ctx) => {
  if (Array.from(body.content).length > MAX_CONTENT_LENGTH) {
    ctx.addIssue({
      code: "custom",
      path: ["content"],
      message: `must be at most ${MAX_CONTENT_LENGTH} characters`,
    });
  }
}).openapi("EditRequest");

export const MessageResponse = z.object({ success: z.literal(true), message: MessageSchema });

export const MessageVersionsResponse = z.object({
  success: z.literal(true),
  message: MessageSchema,
  versions: z.array(MessageVersionSchema).openapi({ description: "Earlier texts, newest first" }),
});

export const DeleteResponse = z.object({
  success: z.literal(true),
  messageId: z.string(),
  roomId: z.string(),
  seq: z.number().int(),
});

/**
 * No white space and no control characters (`\p{Cc}`: U+0000–U+001F, U+007F–U+009F), spelled without
 * `\p{…}` and without flags: the OpenAPI document carries the pattern's source, and JSON Schema
 * validators compile it with or without `u`. Either way it takes 👍, ZWJ sequences and `:shortcodes:`.
 */
// deno-lint-ignore no-control-regex
const EMOJI_PATTERN = /^[^\s\x00-\x1F\x7F-\x9F]+$/;

export const ReactionBody = z.object({
  emoji: z.string().min(1).max(MAX_EMOJI_LENGTH).regex(
    EMOJI_PATTERN,
    "must be an emoji or a short code without spaces",
  ).openapi({ example: "👍" }),
}).openapi("ReactionRequest");

export const ReactionResponse = z.object({
  success: z.literal(true),
  added: z.boolean().openapi({ description: "true: the reaction was added; false: it was removed" }),
  message: MessageSchema,
});

export const AddMembersBody = z.object({ userIds: z.array(Id).min(1).max(MAX_USERS_PER_REQUEST) }).openapi(
  "AddMembersRequest",
);

export const AddMembersResponse = z.object({
  success: z.literal(true),
  roomId: z.string(),
  added: z.array(z.string()).openapi({ description: "Users who were not active members before" }),
});

export const RemoveMemberResponse = z.object({
  success: z.literal(true),
  roomId: z.string(),
  userId: z.string(),
  left: z.boolean().openapi({ description: "true when the caller removed themself (left)" }),
  ownerId: z.string().optional().openapi({ description: "The new owner, when the owner left" }),
});

export const UpdateRoomBody = z.object({
  name: z.string().trim().min(1).max(MAX_NAME_LENGTH).optional(),
  avatar: HttpUrl.nullable().optional(),
}).refine((b) => b.name !== undefined || b.avatar !== undefined, {
  path: ["name"],
  message: "give name or avatar",
}).openapi("UpdateRoomRequest");

export const RoomResponse = z.object({ success: z.literal(true), room: RoomSchema });

export const RoleBody = z.object({ role: z.enum(["owner", "admin", "member"]) }).openapi("RoleRequest");

export const RoleResponse = z.object({
  success: z.literal(true),
  roomId: z.string(),
  roles: z.record(z.string(), z.enum(["owner", "admin", "member"])).openapi({
    description: "Every role that changed (two entries when ownership was handed over)",
  }),
});

export const ArchiveBody = z.object({ archived: z.boolean() }).openapi("ArchiveRequest");

export const ArchiveResponse = z.object({
  success: z.literal(true),
  roomId: z.string(),
  archived: z.boolean(),
});

export const SearchQuery = z.object({
  q: z.string().trim().min(1).max(200),
  roomId: Id.optional(),
  limit: z.coerce.number().int().min(1).max(50).default(20),
  cursor: z.string().max(1024).optional(),
});

export const SearchResponse = z.object({
  success: z.literal(true),
  messages: z.array(MessageSchema),
  nextCursor: z.string().optional(),
});
