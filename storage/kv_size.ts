/**
 * @module How much a key or a value weighs in a Deno KV commit, estimated on
 * the high side, so that commits can be kept within KV's limits before they
 * are tried: 64 KiB per value, 800 KiB per atomic, 80 KiB of mutation keys.
 */

const utf8 = new TextEncoder();

/**
 * The encoded size of a key as KV counts it against the 80 KiB of keys one
 * atomic may write: a string part is its UTF-8 bytes (NUL bytes escaped) and
 * two tag bytes, a number nine bytes, a boolean one.
 *
 * @example
 * ```ts
 * keyBytes(["msg", "room", 7]); // 3 + 6 + 9 = 18
 * ```
 */
export function keyBytes(key: Deno.KvKey): number {
  let bytes = 0;
  for (const part of key) {
    if (typeof part === "string") bytes += 2 + utf8.encode(part).length + nulCount(part);
    else if (typeof part === "number") bytes += 9;
    else if (typeof part === "boolean") bytes += 1;
    else if (typeof part === "bigint") bytes += 2 + Math.ceil(part.toString(16).length / 2);
    else if (part instanceof Uint8Array) bytes += 2 + part.byteLength + part.filter((b) => b === 0).length;
    else bytes += 16; // a symbol part: KV refuses it, so the commit fails either way
  }
  return bytes;
}

function nulCount(text: string): number {
  let n = 0;
  for (let i = text.indexOf("\0"); i >= 0; i = text.indexOf("\0", i + 1)) n++;
  return n;
}

/** A high estimate of what a key and its value weigh in a commit, in bytes. */
export function estimateBytes(key: Deno.KvKey, value?: unknown): number {
  return 2 * JSON.stringify(key).length + 16 + (value === undefined ? 0 : valueBytes(value));
}

/**
 * A high estimate of a value's size as KV stores it (V8 serialization):
 * strings beyond Latin-1 take two bytes per code unit; Maps and arrays count
 * every entry.
 */
export function valueBytes(value: unknown): number {
  if (typeof value === "string") return 5 + (/[\u0100-\uffff]/.test(value) ? 2 : 1) * value.length;
  if (typeof value !== "object" || value === null) return 9;
  if (value instanceof Deno.KvU64) return 9;
  if (value instanceof Uint8Array) return 5 + value.byteLength;
  let bytes = 5;
  if (value instanceof Map) {
    for (const [k, v] of value) bytes += valueBytes(k) + valueBytes(v);
  } else if (Array.isArray(value) || value instanceof Set) {
    for (const item of value) bytes += valueBytes(item);
  } else {
    for (const [k, v] of Object.entries(value)) bytes += valueBytes(k) + valueBytes(v);
  }
  return bytes;
}
