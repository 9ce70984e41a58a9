/**
 * @module `/api/chat/uploads`: create an upload (members only), PUT its bytes
 * to the signed link (embedded store), and download an attachment through its
 * signed link. The two `content` routes take no bearer token: the link's
 * signature is the credential, so that an `<img src>` works.
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../auth/middleware.ts";
import { createUpload, receiveUpload, serveUpload, type UploadDeps } from "../uploads/upload_service.ts";
import {
  CreateUploadBody,
  CreateUploadResponse,
  LinkQuery,
  ReceivedResponse,
  UploadIdParam,
} from "./upload_schemas.ts";
import { ErrorSchema } from "./schemas.ts";
import { apiRouter, errors, jsonBody, ok } from "./validate.ts";

const tags = ["Attachments"];

const tooLarge = {
  413: {
    content: { "application/json": { schema: ErrorSchema } },
    description: "`size` is over `UPLOAD_MAX_BYTES`",
  },
};

const create = createRoute({
  operationId: "createUpload",
  method: "post",
  path: "/",
  tags,
  security: [{ bearer: [] }],
  summary: "Start an upload",
  description:
    "Step 1 of 3. Active members of `roomId` only (a room the caller was never in is 404, a former member " +
    "gets 403). Answers where to send the bytes (`put`): the client sends exactly `size` bytes with " +
    "`put.method` to `put.url` with `put.headers`, and no bearer token. Then `POST /api/chat/send` with " +
    '`uploadId` and `type: "image"` or `"file"` attaches it. An upload never attached is removed ' +
    "after 24 hours. Counts against `RATE_LIMIT_WRITE_PER_MIN` (429).",
  request: jsonBody(CreateUploadBody),
  responses: {
    201: {
      content: { "application/json": { schema: CreateUploadResponse } },
      description: "The upload, and where to send its bytes",
    },
    ...errors(400, 401, 403, 404, 415, 429, 503),
    ...tooLarge,
  },
});

const put = createRoute({
  operationId: "putUploadContent",
  method: "put",
  path: "/{id}/content",
  tags,
  security: [],
  summary: "Send an upload's bytes (embedded store)",
  description:
    "Step 2 of 3, when uploads are kept in Deno KV: the `put.url` of `createUpload`, signed and valid for " +
    "15 minutes (no bearer token). The body is streamed into KV in chunks; the upload is complete once " +
    "every byte is stored and the size and SHA-256 are known. A body of another size than declared, or " +
    "an image whose bytes are not of its declared type, is 400; an upload already complete is 409.",
  request: {
    params: UploadIdParam,
    query: LinkQuery,
    body: {
      content: { "application/octet-stream": { schema: z.string().openapi({ format: "binary" }) } },
      required: true,
      description: "Exactly `size` bytes, sent with the declared `Content-Type`",
    },
  },
  responses: {
    ...ok(ReceivedResponse, "Every byte is stored: the upload can be attached"),
    ...errors(400, 403, 404, 409),
  },
});

const get = createRoute({
  operationId: "getUploadContent",
  method: "get",
  path: "/{id}/content",
  tags,
  security: [],
  summary: "Download an attachment",
  description:
    "The `attachmentUrl` of a message with an uploaded attachment: signed, valid at least an hour, and " +
    "handed only to the room's members (no bearer token, so it works in `<img src>`). Served with the " +
    "upload's content type and `X-Content-Type-Options: nosniff`; anything but images, audio and video with " +
    "`Content-Disposition: attachment`. With S3 storage, a redirect (302) to a presigned GET. 403 without a " +
    "valid signature; 404 once the message is deleted.",
  request: { params: UploadIdParam, query: LinkQuery },
  responses: {
    200: {
      content: {
        "application/octet-stream": { schema: z.string().openapi({ format: "binary" }) },
      },
      description: "The file, with its own content type",
    },
    206: {
      content: {
        "application/octet-stream": { schema: z.string().openapi({ format: "binary" }) },
      },
      description: "The bytes of a `Range: bytes=start-end` request (one range; `Content-Range` says which)",
    },
    302: { description: "With S3 storage: to a presigned GET of the object (valid 5 minutes)" },
    ...errors(403, 404),
    416: {
      content: { "application/json": { schema: ErrorSchema } },
      description: "The range lies outside the file (`Content-Range: bytes */size`)",
    },
  },
});

/** The upload routes, mounted at `/api/chat/uploads`. */
export function uploadRoutes(deps: UploadDeps): OpenAPIHono<AppEnv> {
  return apiRouter()
    .openapi(create, async (c) => {
      const created = await createUpload(deps, c.var.user, c.req.valid("json"));
      return c.json({ success: true as const, ...created }, 201);
    })
    .openapi(put, async (c) => {
      const { id } = c.req.valid("param");
      const request = { query: c.req.valid("query"), headers: c.req.raw.headers, body: c.req.raw.body };
      const { name, contentType, size } = await receiveUpload(deps, id, request);
      return c.json({ success: true as const, upload: { id, name, contentType, size } }, 200);
    })
    .openapi(get, async (c) => {
      const { id } = c.req.valid("param");
      return await serveUpload(deps, id, { query: c.req.valid("query"), range: c.req.header("Range") });
    });
}
