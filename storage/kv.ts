/** @module Opening Deno KV, and read helpers that respect its per-call limits. */
import { backoff } from "./commit_retry.ts";

/**
 * Opens the store named by `KV_PATH`: a file, `:memory:`, a KV Connect URL, or
 * the default store. Its commits retry transient errors (see `retryingCommits`).
 */
export async function openKv(path: string | undefined): Promise<Deno.Kv> {
  if (path && path !== ":memory:" && !isRemoteKv(path)) {
    const dir = path.replace(/[^/]*$/, "");
    if (dir) await Deno.mkdir(dir, { recursive: true });
  }
  return retryingCommits(await Deno.openKv(path));
}

/**
 * Whether `KV_PATH` names a store across a network (Deno Deploy's default KV,
 * or a KV Connect URL), where a commit's answer can be lost after it happened.
 */
export function isRemoteKv(path: string | undefined): boolean {
  return path === undefined || /^https?:\/\//.test(path);
}

/**
 * The same store, except that every `atomic().commit()` retries while it fails
 * with a transient error: on a local file, a commit throws "database is locked"
 * while another process (a second server, the outbox CLI) holds the write lock.
 * Such a commit did not happen, so committing the same operation again is safe.
 */
export function retryingCommits(kv: Deno.Kv): Deno.Kv {
  return new Proxy(kv, {
    get(target, name) {
      if (name === "atomic") {
        return () => {
          const op = target.atomic();
          const commit = op.commit.bind(op);
          op.commit = () => retryTransient(commit);
          return op;
        };
      }
      const value = Reflect.get(target, name);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** Deno KV reads at most this many keys in one `getMany`. */
const GET_MANY_LIMIT = 10;

/** Reads any number of keys, in chunks that `getMany` accepts, in parallel. */
export async function getManyChunked<T>(
  kv: Deno.Kv,
  keys: readonly Deno.KvKey[],
): Promise<Deno.KvEntryMaybe<T>[]> {
  const chunks: Promise<Deno.KvEntryMaybe<T>[]>[] = [];
  for (let i = 0; i < keys.length; i += GET_MANY_LIMIT) {
    chunks.push(kv.getMany<T[]>(keys.slice(i, i + GET_MANY_LIMIT)));
  }
  return (await Promise.all(chunks)).flat();
}

/**
 * Runs `attempt` (a read or a commit, built afresh each time), retrying with
 * jittered exponential backoff while it fails with a transient KV error.
 */
export async function retryTransient<T>(attempt: () => Promise<T>, retries = 8): Promise<T> {
  for (let n = 0;; n++) {
    try {
      return await attempt();
    } catch (err) {
      if (!isTransientKvError(err) || n >= retries) throw err;
      await backoff(n, { scaleMs: 5 });
    }
  }
}

/**
 * Whether a KV error is worth retrying: SQLite reports a write lock held by
 * another process on the same file as "database is locked".
 */
export function isTransientKvError(err: unknown): boolean {
  return err instanceof Error && /database is locked|busy|timed out|temporar/i.test(err.message);
}
