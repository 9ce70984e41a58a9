/** @module Zod schemas of the upload routes (`/api/chat/uploads`), for validation and OpenAPI. */
import { z } from "@hono/zod-openapi";
import { Id, UploadId } from "./schemas.ts";
import { UPLOAD_CONTENT_TYPES } from "../uploads/content_types.ts";

export const CreateUploadBody = z.object({
  roomId: Id,
  name: z.string().trim().min(1).max(255).openapi({ example: "photo.png" }),
  contentType: z.string().min(1).max(255).openapi({
    example: "image/png",
    description: `The file's type; accepted: ${UPLOAD_CONTENT_TYPES.join(", ")}. PNG, JPEG, GIF and WebP ` +
      "bytes must start as their format does.",
  }),
  size: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).openapi({
    example: 48213,
    description: "Exactly how many bytes will be sent; at most `UPLOAD_MAX_BYTES` (413)",
  }),
}).openapi("CreateUploadRequest");

export const UploadSchema = z.object({
  id: UploadId,
  name: z.string(),
  contentType: z.string(),
  size: z.number().int(),
}).openapi("Upload");

export const PutTargetSchema = z.object({
  url: z.string().openapi({
    description: "Where to send the bytes, signed and short-lived (15 minutes): a path on this server " +
      "(resolve it against the API's base URL) with the embedded store, a presigned URL with S3",
    example: "/api/chat/uploads/up_3q2-7wEjR0yJcHk1vT9xAb/content?expires=1796136000&signature=Yx…",
  }),
  method: z.literal("PUT"),
  headers: z.record(z.string(), z.string()).openapi({ example: { "Content-Type": "image/png" } }),
}).openapi("UploadPutTarget");

export const CreateUploadResponse = z.object({
  success: z.literal(true),
  upload: UploadSchema,
  put: PutTargetSchema,
});

export const UploadIdParam = z.object({ id: UploadId.openapi({ param: { name: "id", in: "path" } }) });

/** The signature of a link to an upload's bytes. */
export const LinkQuery = z.object({
  expires: z.string().max(20).optional().openapi({
    description: "When the link expires (Unix seconds); without it, 403",
    example: "1796136000",
  }),
  signature: z.string().max(100).optional().openapi({
    description: "The link's signature; without a valid one, 403",
    example: "Yx3f…",
  }),
});

export const ReceivedResponse = z.object({ success: z.literal(true), upload: UploadSchema });
