/** @module A plain map standing in for KV, for tests that check what commit units would leave behind. */

/** Applies mutations (set, delete, sum) to a map keyed by the JSON of each key. */
export function applyMutations(store: Map<string, unknown>, mutations: Deno.KvMutation[]): void {
  for (const m of mutations) {
    const id = JSON.stringify(m.key);
    if (m.type === "set") store.set(id, m.value);
    else if (m.type === "delete") store.delete(id);
    else if (m.type === "sum") {
      const current = (store.get(id) as bigint | undefined) ?? 0n;
      store.set(id, BigInt.asUintN(64, current + (m.value as Deno.KvU64).value));
    }
  }
}
