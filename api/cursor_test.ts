import assert from "node:assert/strict";
import { HttpError } from "../http_error.ts";
import { decodeCursor, encodeCursor } from "./cursor.ts";

const pair = (parts: unknown[]) =>
  typeof parts[0] === "number" && typeof parts[1] === "string" ? { at: parts[0], id: parts[1] } : null;

Deno.test("decodeCursor() reads back what encodeCursor() wrote, URL-safe", () => {
  const cursor = encodeCursor([1764000000000, "g_1?/+"]);
  assert.match(cursor, /^[A-Za-z0-9_-]+$/);
  assert.deepEqual(decodeCursor(cursor, pair), { at: 1764000000000, id: "g_1?/+" });
});

Deno.test("decodeCursor() refuses a cursor it did not write with 400", () => {
  for (const bad of ["", "%%%", btoa("{}"), encodeCursor(["x", 1])]) {
    assert.throws(
      () => decodeCursor(bad, pair),
      (err) => err instanceof HttpError && err.status === 400 && /^cursor: /.test(err.message),
    );
  }
});
