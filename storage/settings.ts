/** @module Settings generated once and kept in KV, so every process and restart agrees on them. */
import { keys } from "./keys.ts";

/**
 * The stored value of a setting, generated and stored on first use. Two
 * processes racing to create it agree: the loser reads the winner's value.
 */
export async function ensureSetting<T>(kv: Deno.Kv, name: string, generate: () => T): Promise<T> {
  const key = keys.setting(name);
  for (;;) {
    const entry = await kv.get<T>(key);
    if (entry.value !== null) return entry.value;
    const value = generate();
    const result = await kv.atomic().check({ key, versionstamp: null }).set(key, value).commit();
    if (result.ok) return value;
  }
}

/** A random secret of `bytes` bytes, hex-encoded. */
export function randomSecret(bytes = 32): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, "0"))
    .join("");
}
