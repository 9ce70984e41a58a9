/** @module What the social use cases work with. */
import type { CommitBatcher } from "../storage/commit_batcher.ts";
import type { UserStore } from "../storage/users.ts";

/** What committing notifications needs: the KV store, the batcher (outbox wake-ups) and whether push is on. */
export interface NotifyDeps {
  kv: Deno.Kv;
  /** The process's batcher: its commits enqueue and nudge the outbox wake-ups. */
  batcher: CommitBatcher;
  /** Whether OneSignal is configured, so that notifications get push outbox rows. */
  push: boolean;
}

/** What the social use cases need. */
export interface SocialDeps extends NotifyDeps {
  users: UserStore;
}
