/**
 * @module A Deno KV store whose commits can be made to misbehave the way a
 * remote store does (KV Connect, Deno Deploy): a commit that happened but
 * whose answer was lost, or a write from elsewhere landing just before a commit.
 */

/** Decides, per commit, what goes wrong; `op` lists the commit's mutations. */
export interface Faults {
  /** Runs before the commit is sent; may write to the store (another process racing). */
  before?: (mutations: Deno.KvMutation[]) => Promise<void> | void;
  /**
   * Asked at an operation's first commit: "once" applies it and loses that
   * answer (a "timed out" error; a retry of the same operation then gets its
   * real answer), "always" loses the answer of every commit of the operation.
   */
  loseAnswer?: (mutations: Deno.KvMutation[]) => "once" | "always" | false;
}

/**
 * Wraps `kv` so that every `atomic()` records its mutations and consults
 * `faults` around `commit()`. Put it under `retryingCommits`, as the real
 * transport sits under it.
 */
export function faultyKv(kv: Deno.Kv, faults: Faults): Deno.Kv {
  return new Proxy(kv, {
    get(target, name) {
      if (name === "atomic") {
        return () => {
          const op = target.atomic();
          const mutations: Deno.KvMutation[] = [];
          const mutate = op.mutate.bind(op);
          op.mutate = (...ms: Deno.KvMutation[]) => {
            mutations.push(...ms);
            return mutate(...ms);
          };
          const commit = op.commit.bind(op);
          let calls = 0;
          let loss: "once" | "always" | false | undefined;
          op.commit = async () => {
            await faults.before?.(mutations);
            const result = await commit();
            loss ??= faults.loseAnswer?.(mutations) ?? false;
            if (loss === "always" || (loss === "once" && calls === 0)) {
              calls++;
              throw new TypeError("Request timed out (the answer was lost)");
            }
            calls++;
            return result;
          };
          return op;
        };
      }
      const value = Reflect.get(target, name);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** Whether one of the mutations writes a key starting with `prefix`. */
export function writes(mutations: Deno.KvMutation[], ...prefix: Deno.KvKeyPart[]): boolean {
  return mutations.some((m) => prefix.every((part, i) => m.key[i] === part));
}
