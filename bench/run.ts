/**
 * @module `deno task bench`: measures, side by side in one run, the raw Deno KV
 * ceiling, HTTP send throughput, the hot room, the scale curves and realtime
 * delivery; prints the ratios against their targets and writes
 * `bench/results/<timestamp>.json` + `.svg` and `latest.json` / `latest.svg`.
 *
 * Flags: `--quick` (smaller and shorter, about 3 minutes), `--only=raw,send,hot,procs,scale,realtime,health,uploads`,
 * `--dir=<path>` (where the KV files go; a temporary directory by default, removed afterwards),
 * `--no-write` (print only), `--profile` (CPU-profile the server's JS thread during each measured
 * load through its inspector and print the top functions). Needs `wrk` for the HTTP load (`apt-get install -y wrk`); without
 * it a slower Deno fetch loader runs and the report says so.
 */
import { parseArgs } from "node:util";
import { type Curve, type RatioBar, renderChart } from "./chart.ts";
import { directSendBench, hotRoomBench, type SendOptions } from "./http_send.ts";
import { healthBench } from "./health.ts";
import { haveWrk } from "./load.ts";
import { directCeiling, groupCeiling } from "./raw_kv.ts";
import type { ProfileSummary } from "./profile.ts";
import { realtimeBench } from "./realtime.ts";
import { label, scaleBench } from "./scale.ts";
import { uploadBench } from "./uploads.ts";
import { loadAverage, machineInfo, round } from "./stats.ts";

const SECTIONS = ["raw", "send", "hot", "procs", "scale", "realtime", "health", "uploads"] as const;
type Section = (typeof SECTIONS)[number];

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    quick: { type: "boolean", default: false },
    only: { type: "string" },
    dir: { type: "string" },
    "no-write": { type: "boolean", default: false },
    profile: { type: "boolean", default: false },
  },
});

const quick = flags.quick!;
const only = new Set<Section>(
  flags.only ? flags.only.split(",").map((s) => s.trim() as Section) : SECTIONS,
);
for (const s of only) {
  if (!SECTIONS.includes(s)) {
    console.error(`bench: unknown section "${s}" (sections: ${SECTIONS.join(", ")})`);
    Deno.exit(2);
  }
}

const plan = quick
  ? {
    raw: { serialCommits: 800, concurrentCommits: 1600, maxMs: 5000, groupCommits: 300 },
    send: { seconds: 5, warmupSeconds: 1, connections: 64 },
    rooms: 500,
    members: 50,
    scale: { sizes: [10_000, 100_000], samples: 60, roomCounts: [100, 10_000] },
    realtime: { clients: 1000, rates: [150, 500], seconds: 5 },
    health: { backlogs: [0, 1000, 10_000], samples: 100 },
    uploads: { files: 10, fileMiB: 10 },
  }
  : {
    raw: { serialCommits: 3000, concurrentCommits: 6000, maxMs: 15_000, groupCommits: 1000 },
    send: { seconds: 15, warmupSeconds: 3, connections: 64 },
    rooms: 500,
    members: 50,
    scale: { sizes: [10_000, 100_000, 1_000_000], samples: 200, roomCounts: [100, 10_000] },
    realtime: { clients: 1000, rates: [150, 500], seconds: 20 },
    health: { backlogs: [0, 1000, 10_000], samples: 300 },
    uploads: { files: 10, fileMiB: 10 },
  };

const log = (line: string) => console.log(line);
const started = new Date();
const t0 = performance.now();
const machine = machineInfo();
const useWrk = await haveWrk();
if (!useWrk && (only.has("send") || only.has("hot"))) {
  console.log(
    "bench: wrk not found (apt-get install -y wrk); HTTP load uses the slower Deno fetch loader instead",
  );
}
const dir = flags.dir ?? await Deno.makeTempDir({ prefix: "durable-chat-bench-" });
await Deno.mkdir(dir, { recursive: true });
log(
  `durable-chat bench ${quick ? "(quick) " : ""}· ${machine.cores} cores (${machine.cpuModel}), ` +
    `${machine.memoryMiB} MiB · Deno ${machine.deno} · load ${loadAverage().join(" ")} · KV files in ${dir}`,
);

// deno-lint-ignore no-explicit-any
const results: Record<string, any> = {};
const loads: Record<string, { before: number[]; after: number[]; seconds: number }> = {};

async function section<T>(name: Section, title: string, fn: () => Promise<T>): Promise<T | undefined> {
  if (!only.has(name)) return undefined;
  log(`\n== ${title}`);
  const before = loadAverage();
  const s0 = performance.now();
  try {
    const result = await fn();
    results[name] = result;
    return result;
  } catch (err) {
    log(`  FAILED: ${err instanceof Error ? err.stack : err}`);
    results[name] = { error: String(err) };
    return undefined;
  } finally {
    loads[name] = { before, after: loadAverage(), seconds: round((performance.now() - s0) / 1000, 1) };
    log(`  (${loads[name]!.seconds} s; load ${before.join(" ")} → ${loads[name]!.after.join(" ")})`);
  }
}

function threadsText(threads: { thread: string; cores: number }[]): string {
  return threads.slice(0, 5).map((t) => `${t.thread} ${t.cores}`).join(", ");
}

const sendOptions: SendOptions = { ...plan.send, useWrk, profile: flags.profile };

function logProfile(profile: ProfileSummary | undefined): void {
  if (!profile) return;
  log(`    JS thread profile: ${Math.round(profile.idle * 100)}% idle; top self time:`);
  for (const f of profile.topFunctions.filter((f) => !f.name.startsWith("(idle)")).slice(0, 8)) {
    log(`      ${(f.share * 100).toFixed(1).padStart(5)}%  ${f.name}`);
  }
  log(
    `    by file: ${
      profile.topFiles.slice(0, 12).map((f) => `${f.file} ${(f.share * 100).toFixed(1)}%`).join(", ")
    }`,
  );
}

const raw = await section("raw", "Raw Deno KV ceiling (same writes as one send)", async () => {
  const direct = await directCeiling(`${dir}/raw-direct.kv`, plan.raw);
  const group = await groupCeiling(`${dir}/raw-group.kv`, {
    commits: plan.raw.groupCommits,
    maxMs: plan.raw.maxMs,
  });
  log(`  direct send = ${direct.shape.checks} check + ${direct.shape.totalMutations} mutations + 1 enqueue`);
  log(`    serial:        ${direct.serial.commitsPerSec} commits/s (p50 ${direct.serial.latencyMs.p50} ms)`);
  log(
    `    64-concurrent: ${direct.concurrent!.commitsPerSec} commits/s (p50 ${
      direct.concurrent!.latencyMs.p50
    } ms)`,
  );
  log(
    `    8 units/commit serial: ${direct.grouped!.sendsPerSec} sends/s (p50 ${
      direct.grouped!.latencyMs.p50
    } ms)`,
  );
  log(
    `  50-member group send = ${group.shape.checks} check + ${group.shape.totalMutations} mutations + 1 enqueue`,
  );
  log(`    serial:        ${group.serial.commitsPerSec} commits/s (p50 ${group.serial.latencyMs.p50} ms)`);
  return { direct, group };
});

const send = await section("send", `HTTP sends, ${plan.rooms} direct rooms, 64 connections`, async () => {
  const on = await directSendBench(dir, plan.rooms, true, sendOptions);
  log(
    `  group commit on:  ${on.load.okPerSec} sends/s, p50 ${on.load.latencyMs.p50} ms, p99 ${on.load.latencyMs.p99} ms` +
      ` (non-2xx ${on.load.non2xx}, server CPU ${on.serverCpu}, ${on.load.tool})`,
  );
  log(`    server threads (cores): ${threadsText(on.serverThreads)}`);
  logProfile(on.profile);
  const off = await directSendBench(dir, plan.rooms, false, sendOptions);
  log(
    `  group commit off: ${off.load.okPerSec} sends/s, p50 ${off.load.latencyMs.p50} ms, p99 ${off.load.latencyMs.p99} ms` +
      ` (non-2xx ${off.load.non2xx}, server CPU ${off.serverCpu})`,
  );
  log(`    server threads (cores): ${threadsText(off.serverThreads)}`);
  return { on, off };
});

const hot = await section(
  "hot",
  `Hot room: one group of ${plan.members}, 64 concurrent senders`,
  async () => {
    const on = await hotRoomBench(dir, plan.members, true, sendOptions);
    log(
      `  group commit on:  ${on.load.okPerSec} msgs/s, p50 ${on.load.latencyMs.p50} ms, p99 ${on.load.latencyMs.p99} ms` +
        ` · seqs exact ${on.seqsExact}, unread exact ${on.unreadExact} (${on.unreadChecked} members)`,
    );
    log(`    server threads (cores): ${threadsText(on.serverThreads)}`);
    logProfile(on.profile);
    const off = await hotRoomBench(dir, plan.members, false, sendOptions);
    log(
      `  group commit off: ${off.load.okPerSec} msgs/s, p50 ${off.load.latencyMs.p50} ms, p99 ${off.load.latencyMs.p99} ms` +
        ` · seqs exact ${off.seqsExact}, unread exact ${off.unreadExact}`,
    );
    log(`    server threads (cores): ${threadsText(off.serverThreads)}`);
    for (const p of [...on.problems, ...off.problems].slice(0, 10)) log(`  PROBLEM: ${p}`);
    return { on, off };
  },
);

const procs = await section(
  "procs",
  "Several processes on one KV file and one port (REUSE_PORT=1), side by side with one",
  async () => {
    const runs: Record<
      string,
      Awaited<ReturnType<typeof hotRoomBench>> | Awaited<ReturnType<typeof directSendBench>>
    > = {};
    const line = (name: string, r: { load: { okPerSec: number; latencyMs: { p50: number; p99: number } } }) =>
      log(
        `  ${
          name.padEnd(26)
        } ${r.load.okPerSec}/s, p50 ${r.load.latencyMs.p50} ms, p99 ${r.load.latencyMs.p99} ms`,
      );
    for (const processes of [1, 2]) {
      const r = await directSendBench(dir, plan.rooms, true, {
        ...sendOptions,
        processes,
        tag: `-${processes}p`,
      });
      runs[`direct ${processes}p`] = r;
      line(`direct sends, ${processes} process${processes > 1 ? "es" : ""}`, r);
    }
    for (const [processes, forwarding] of [[1, "on"], [3, "off"], [3, "on"]] as const) {
      const name = processes === 1 ? "hot 1p" : `hot 3p${forwarding === "off" ? " no forwarding" : ""}`;
      const r = await hotRoomBench(dir, plan.members, true, {
        ...sendOptions,
        processes,
        tag: `-${processes}p-${forwarding}`,
        env: { HOT_ROOM_FORWARDING: forwarding },
      });
      runs[name] = r;
      line(name, r);
      log(`    seqs exact ${r.seqsExact}, unread exact ${r.unreadExact} (${r.unreadChecked} members)`);
      for (const p of r.problems.slice(0, 5)) log(`    PROBLEM: ${p}`);
    }
    return runs as {
      "direct 1p": Awaited<ReturnType<typeof directSendBench>>;
      "direct 2p": Awaited<ReturnType<typeof directSendBench>>;
      "hot 1p": Awaited<ReturnType<typeof hotRoomBench>>;
      "hot 3p": Awaited<ReturnType<typeof hotRoomBench>>;
      "hot 3p no forwarding": Awaited<ReturnType<typeof hotRoomBench>>;
    };
  },
);

const scale = await section("scale", "Scale curves (interleaved across sizes)", async () => {
  const result = await scaleBench(dir, { ...plan.scale, log });
  for (const p of result.points) {
    const l = p.latencyMs;
    log(
      `  ${
        label(p.storedMessages).padEnd(5)
      } p50 ms: newest ${l.newestPage.p50}, beforeId ${l.beforeIdPage.p50}, ` +
        `afterSeq ${l.afterSeqPage.p50}, rooms ${l.roomList.p50}, totalUnread ${l.totalUnread.p50}`,
    );
  }
  for (const r of result.rooms) {
    log(
      `  ${r.roomsPerUser} rooms/user p50 ms: rooms ${r.latencyMs.roomList.p50}, totalUnread ${r.latencyMs.totalUnread.p50}`,
    );
  }
  return result;
});

const realtime = await section(
  "realtime",
  `Realtime: ${plan.realtime.clients} pusher-js clients, ${plan.realtime.rates.join(" then ")} msgs/s`,
  async () => {
    const r = await realtimeBench(dir, { ...plan.realtime, profile: flags.profile, log });
    for (const p of r.phases) {
      log(
        `  at ${p.targetRate} msgs/s: achieved ${p.achievedRate} (${p.acked}/${p.sent} acked, ${p.skipped} skipped ticks)`,
      );
      log(
        `    send → new-message p50 ${p.deliveryLatencyMs.p50} ms, p99 ${p.deliveryLatencyMs.p99} ms; ` +
          `${p.deliveries}/${p.expectedDeliveries} delivered, ${p.missing} messages missing`,
      );
      log(
        `    send → answered p50 ${p.sendLatencyMs.p50} ms, p99 ${p.sendLatencyMs.p99} ms (its commit included)`,
      );
      log(`    outbox backlog ${p.backlogAtStop} at stop, clear ${p.backlogClearMs} ms after the last ack`);
      log(
        `    commit → outbox delivery (server histogram; room channels go out at commit, before it): ` +
          `p50 ≤ ${p.commitToPublishMs.p50} ms, ` +
          `p99 ≤ ${p.commitToPublishMs.p99} ms, mean ${p.commitToPublishMs.mean} ms`,
      );
      log(`    server threads (cores): ${threadsText(p.serverThreads)}`);
      logProfile(p.profile);
    }
    log(
      `  memory: ${r.memory.perConnectionKiB} KiB per idle connection after a full GC (${r.memory.rssBeforeMiB} → ${r.memory.rssAfterMiB} MiB); ` +
        `${r.memory.perConnectionNoGcKiB} KiB before it`,
    );
    return r;
  },
);

const health = await section(
  "health",
  "/healthz from an empty outbox to a 10,000-batch backlog",
  async () => {
    const result = await healthBench(dir, { ...plan.health, log });
    for (const p of result.points) {
      log(
        `  backlog ${
          String(p.backlog).padStart(6)
        } (reported ${p.reported}): /healthz p50 ${p.healthzMs.p50} ms, ` +
          `p99 ${p.healthzMs.p99} ms · a row scan (the old /healthz) p50 ${p.scanMs.p50} ms`,
      );
    }
    return result;
  },
);

const uploads = await section(
  "uploads",
  "Uploads into Deno KV: 10 files at once, of 1 MiB and of 10 MiB",
  async () => {
    const runs = [];
    for (const fileMiB of [1, plan.uploads.fileMiB]) {
      const r = await uploadBench(`${dir}/uploads-${fileMiB}`, { files: plan.uploads.files, fileMiB, log });
      log(
        `  ${r.files} × ${fileMiB} MiB: upload ${r.concurrentMiBps} MiB/s at once, ${r.singleMiBps} MiB/s alone; ` +
          `download ${r.downloadMiBps} MiB/s at once`,
      );
      log(
        `    server RSS ${r.rss.beforeMiB} MiB before, peak ${r.rss.peakUploadMiB} MiB uploading, ` +
          `${r.rss.peakDownloadMiB} MiB downloading; bare KV writes of the same chunks grow ${r.rawKvGrowthMiB} MiB`,
      );
      runs.push(r);
    }
    return { small: runs[0]!, big: runs[1]! };
  },
);

// Ratios against targets.
const bars: RatioBar[] = [];
const summary: Record<string, { value: number; target: string; met: boolean }> = {};
const judge = (key: string, value: number, target: number, kind: "min" | "max") => {
  const met = kind === "min" ? value >= target : value <= target;
  summary[key] = { value: round(value, 2), target: `${kind === "min" ? "≥" : "≤"} ${target}`, met };
  bars.push({ label: key, value, target, kind });
};
if (raw && send) {
  const ceiling = Math.max(raw.direct.serial.sendsPerSec, raw.direct.concurrent!.sendsPerSec);
  judge("sends / raw ceiling", send.on.load.okPerSec / ceiling, 0.8, "min");
  summary["sends off / raw ceiling"] = {
    value: round(send.off.load.okPerSec / ceiling, 2),
    target: "(for comparison)",
    met: true,
  };
}
if (send) {
  summary["group commit gain, direct"] = {
    value: round(send.on.load.okPerSec / send.off.load.okPerSec, 2),
    target: "(on ÷ off)",
    met: true,
  };
}
if (raw && hot) {
  judge("hot room / raw group-send serial", hot.on.load.okPerSec / raw.group.serial.sendsPerSec, 3, "min");
  summary["hot room / raw direct-send serial"] = {
    value: round(hot.on.load.okPerSec / raw.direct.serial.sendsPerSec, 2),
    target: "(stricter basis, for comparison)",
    met: true,
  };
  summary["hot room off / raw group-send serial"] = {
    value: round(hot.off.load.okPerSec / raw.group.serial.sendsPerSec, 2),
    target: "(for comparison)",
    met: true,
  };
}
if (hot) {
  summary["hot room unread exact"] = {
    value: hot.on.unreadExact && hot.off.unreadExact ? 1 : 0,
    target: "= 1",
    met: hot.on.unreadExact && hot.off.unreadExact,
  };
}
if (procs) {
  summary["2 processes / 1, direct sends"] = {
    value: round(procs["direct 2p"].load.okPerSec / procs["direct 1p"].load.okPerSec, 2),
    target: "(2 cores shared with the load generator)",
    met: true,
  };
  judge(
    "hot room 3 processes / 1",
    procs["hot 3p"].load.okPerSec / procs["hot 1p"].load.okPerSec,
    0.8,
    "min",
  );
  judge(
    "hot room p99 3 processes / 1",
    procs["hot 3p"].load.latencyMs.p99 / procs["hot 1p"].load.latencyMs.p99,
    2,
    "max",
  );
  summary["hot room 3 processes / 1, no forwarding"] = {
    value: round(procs["hot 3p no forwarding"].load.okPerSec / procs["hot 1p"].load.okPerSec, 2),
    target: "(before: HOT_ROOM_FORWARDING=off)",
    met: true,
  };
  summary["hot room 3 processes unread exact"] = {
    value: procs["hot 3p"].unreadExact ? 1 : 0,
    target: "= 1",
    met: procs["hot 3p"].unreadExact,
  };
}
if (scale) { for (const [key, value] of Object.entries(scale.ratios)) judge(key, value, 1.3, "max"); }
if (health) {
  const last = health.points[health.points.length - 1]!;
  judge(`healthz ${last.backlog} backlog / empty`, health.ratio, 1.3, "max");
  summary["healthz reports the backlog"] = {
    value: health.points.every((p) => p.reported === p.backlog) ? 1 : 0,
    target: "= 1",
    met: health.points.every((p) => p.reported === p.backlog),
  };
}
if (uploads) {
  // Streaming: ten times the bytes in flight must not mean ten times the memory (beyond KV's own growth).
  const held = (r: typeof uploads.big) => r.rss.peakUploadMiB - r.rss.beforeMiB - r.rawKvGrowthMiB;
  judge(
    "upload RSS beyond KV, 10 MiB ÷ 1 MiB files",
    held(uploads.big) / Math.max(1, held(uploads.small)),
    5,
    "max",
  );
  summary["upload MiB/s (10 × 10 MiB at once)"] = {
    value: uploads.big.concurrentMiBps,
    target: "(throughput)",
    met: true,
  };
}
if (realtime) {
  const target = realtime.phases.find((p) => p.targetRate === 500) ?? realtime.phases.at(-1)!;
  judge(
    `outbox clear at ${target.targetRate}/s (s) / 2 s`,
    (target.backlogClearMs ?? Infinity) / 2000,
    1,
    "max",
  );
  summary[`realtime ${target.targetRate}/s achieved / target`] = {
    value: round(target.achievedRate / target.targetRate, 2),
    target: "≥ 0.95",
    met: target.achievedRate >= 0.95 * target.targetRate,
  };
  judge("KiB per idle connection / 24", realtime.memory.perConnectionKiB / 24, 1, "max");
  for (const p of realtime.phases) {
    summary[`realtime ${p.targetRate}/s missing messages`] = {
      value: p.missing,
      target: "= 0",
      met: p.missing === 0,
    };
    summary[`realtime ${p.targetRate}/s p50 / p99 ms`] = {
      value: p.deliveryLatencyMs.p50,
      target: `(p99 ${p.deliveryLatencyMs.p99})`,
      met: true,
    };
  }
}

log("\n== Ratios vs targets");
for (const [key, { value, target, met }] of Object.entries(summary)) {
  log(`  ${met ? "ok  " : "MISS"} ${key.padEnd(40)} ${String(value).padStart(8)}  ${target}`);
}
function chartNotes(): string[] {
  const notes: string[] = [];
  if (raw) {
    notes.push(
      `raw KV: direct-send commits ${raw.direct.serial.commitsPerSec}/s serial, ${
        raw.direct.concurrent!.commitsPerSec
      }/s 64-concurrent, ${
        raw.direct.grouped!.sendsPerSec
      } sends/s at 8 per commit; 50-member group send ${raw.group.serial.commitsPerSec}/s`,
    );
  }
  if (send) {
    notes.push(
      `HTTP sends (500 direct rooms, 64 conns): ${send.on.load.okPerSec}/s group commit on (p50 ${send.on.load.latencyMs.p50} ms, p99 ${send.on.load.latencyMs.p99} ms), ${send.off.load.okPerSec}/s off`,
    );
  }
  if (hot) {
    notes.push(
      `hot room (50 members, 64 senders): ${hot.on.load.okPerSec} msgs/s on, ${hot.off.load.okPerSec} off; unread exact: ${
        hot.on.unreadExact && hot.off.unreadExact
      }`,
    );
  }
  if (realtime) {
    for (const p of realtime.phases) {
      notes.push(
        `realtime ${p.targetRate} msgs/s, ${realtime.clients} pusher-js clients: send → new-message p50 ${p.deliveryLatencyMs.p50} ms, p99 ${p.deliveryLatencyMs.p99} ms, missing ${p.missing}, backlog clear ${p.backlogClearMs} ms`,
      );
    }
    notes.push(`memory per idle connection: ${realtime.memory.perConnectionKiB} KiB`);
  }
  if (uploads) {
    notes.push(
      `uploads into KV: ${uploads.big.concurrentMiBps} MiB/s (10 × 10 MiB at once), ${uploads.big.singleMiBps} MiB/s alone; server RSS ${uploads.big.rss.beforeMiB} → peak ${uploads.big.rss.peakUploadMiB} MiB`,
    );
  }
  if (health) {
    notes.push(
      `/healthz p50 ${
        health.points.map((p) => `${p.healthzMs.p50} ms at ${p.backlog}`).join(", ")
      } batches pending`,
    );
  }
  return notes;
}

const totalSeconds = round((performance.now() - t0) / 1000, 1);
log(`\nfinished in ${totalSeconds} s · load ${loadAverage().join(" ")}`);

const report = {
  startedAt: started.toISOString(),
  quick,
  machine,
  loadAverage: { start: loads, end: loadAverage() },
  tool: useWrk ? "wrk" : "deno-fetch",
  plan,
  summary,
  results,
  totalSeconds,
};
if (!flags["no-write"]) {
  const out = new URL("./results/", import.meta.url);
  await Deno.mkdir(out, { recursive: true });
  const stamp = started.toISOString().replaceAll(":", "-").replace(/\.\d+Z$/, "Z");
  const curves: Curve[] = scale
    ? (["newestPage", "beforeIdPage", "afterSeqPage", "roomList", "totalUnread"] as const).map((m) => ({
      label: m,
      points: scale.points.map((p) => ({ x: p.storedMessages, y: p.latencyMs[m].p50 })),
    }))
    : [];
  const svg = renderChart({
    title: `durable-chat bench ${started.toISOString().slice(0, 16)}Z${quick ? " (quick)" : ""}`,
    subtitle: `${machine.cores} cores, ${machine.memoryMiB} MiB, Deno ${machine.deno}; load avg at end ${
      loadAverage().join(" ")
    }; ${useWrk ? "wrk" : "deno fetch loader"}`,
    bars,
    curves,
    notes: chartNotes(),
  });
  const json = JSON.stringify(report, null, 2);
  for (const name of [stamp, "latest"]) {
    await Deno.writeTextFile(new URL(`${name}.json`, out), json);
    await Deno.writeTextFile(new URL(`${name}.svg`, out), svg);
  }
  log(`wrote bench/results/${stamp}.json and .svg (and latest.*)`);
}
if (!flags.dir) await Deno.remove(dir, { recursive: true });
Deno.exit(0);
