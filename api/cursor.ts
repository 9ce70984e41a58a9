/**
 * @module Opaque page cursors: a position as a base64url JSON array, and the
 * one check that a cursor is one this server returned.
 */
import { HttpError } from "../http_error.ts";

/**
 * A position as an opaque cursor.
 *
 * @example
 * ```ts
 * encodeCursor([1764000000000, "g_1"]); // "WzE3NjQwMDAwMDAwMDAsImdfMSJd"
 * ```
 */
export function encodeCursor(parts: readonly (string | number)[]): string {
  return btoa(JSON.stringify(parts)).replaceAll("+", "-").replaceAll("/", "_").replaceAll("=", "");
}

/**
 * The position in a cursor, as `parse` reads it from the array's parts (null:
 * not such a position).
 *
 * @throws {HttpError} 400 when the cursor is not one this server returned.
 */
export function decodeCursor<T>(cursor: string, parse: (parts: unknown[]) => T | null): T {
  try {
    const parts: unknown = JSON.parse(atob(cursor.replaceAll("-", "+").replaceAll("_", "/")));
    const position = Array.isArray(parts) ? parse(parts) : null;
    if (position !== null) return position;
  } catch {
    // fall through to the 400 below
  }
  throw new HttpError(400, "cursor: not a cursor this server returned");
}
