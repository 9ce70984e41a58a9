/**
 * @module Zod schemas of the social API (`/api/users`, `/api/notifications`,
 * `/api/me`): they validate requests and generate the OpenAPI document.
 */
import { z } from "@hono/zod-openapi";
import { MAX_MUTED_ROOMS } from "../limits.ts";
import { NotificationSchema, PreferencesSchema, ProfileSchema, UserViewSchema } from "../api/views.ts";
import { Id } from "./schemas.ts";

/** Longest `oneSignalPlayerId` (OneSignal subscription ids are 36-character UUIDs). */
export const MAX_PLAYER_ID_LENGTH = 128;
/** Most notification ids one `POST /api/notifications/read` takes. */
export const MAX_READ_IDS = 100;

export const UserIdParam = z.object({
  id: Id.openapi({ param: { name: "id", in: "path" }, example: "alice" }),
});

export const UserResponse = z.object({ success: z.literal(true) }).extend(UserViewSchema.shape);

export const FollowResponse = z.object({
  success: z.literal(true),
  changed: z.boolean().openapi({ description: "False when the request found it already so" }),
  user: UserViewSchema,
});

export const BlockResponse = z.object({
  success: z.literal(true),
  changed: z.boolean().openapi({ description: "False when the request found it already so" }),
  isBlocked: z.boolean(),
});

export const PageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: Id.optional().openapi({ description: "`nextCursor` of the previous page" }),
});

export const UsersPageResponse = z.object({
  success: z.literal(true),
  users: z.array(ProfileSchema),
  nextCursor: z.string().optional(),
});

const NotificationCursor = z.string().regex(/^n[1-9]\d{0,14}$/, "must be a notification id");

export const NotificationsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(50),
  before: NotificationCursor.optional().openapi({ description: "Notifications older than this id" }),
});

export const NotificationsResponse = z.object({
  success: z.literal(true),
  notifications: z.array(NotificationSchema),
  unreadCount: z.number().int(),
  hasMore: z.boolean(),
  nextCursor: z.string().optional(),
});

export const ReadNotificationsBody = z.object({
  ids: z.array(NotificationCursor).max(MAX_READ_IDS).optional().openapi({
    description: "Notifications to mark read; all of them when absent",
  }),
});

export const UnreadCountResponse = z.object({ success: z.literal(true), unreadCount: z.number().int() });

export const PreferencesBody = z.object({
  enableAllPush: z.boolean().optional(),
  enableAllInApp: z.boolean().optional(),
  oneSignalPlayerId: z.string().trim().min(1).max(MAX_PLAYER_ID_LENGTH)
    .regex(/^[\w-]+$/, "must be a OneSignal subscription id").nullable().optional(),
  mutedRoomIds: z.array(Id).max(MAX_MUTED_ROOMS).optional(),
}).strict().openapi("PreferencesUpdate");

export const PreferencesResponse = z.object({ success: z.literal(true) }).extend(PreferencesSchema.shape);
