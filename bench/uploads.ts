/**
 * @module Upload throughput into the embedded Deno KV store: a real server
 * process, 10 files of 10 MiB sent at once (create → PUT → send), then one file
 * alone, then the 10 downloaded at once; MiB/s of each and the server's RSS,
 * sampled every 20 ms, before and at its peak. For scale, the same chunk
 * commits written straight into a KV file by a bare process: SQLite's own
 * memory grows with them, so what the server adds beyond that is what the
 * upload path holds (it streams: a few chunks per upload).
 */
import { startServer } from "../test/support/server_process.ts";
import { benchEnv } from "./http_send.ts";
import { benchToken } from "./seed.ts";
import { residentBytes, round, sleep } from "./stats.ts";

/** What the section reports. */
export interface UploadResult {
  files: number;
  fileMiB: number;
  /** All files at once: bytes PUT ÷ wall time from the first create to the last send. */
  concurrentMiBps: number;
  /** One file alone. */
  singleMiBps: number;
  /** The files downloaded at once through their `attachmentUrl`s. */
  downloadMiBps: number;
  rss: { beforeMiB: number; peakUploadMiB: number; peakDownloadMiB: number };
  /** The bare process writing the same chunk commits: its RSS growth. */
  rawKvGrowthMiB: number;
}

const MiB = 1024 * 1024;

/** Runs the upload section over a fresh KV file in `dir`. */
export async function uploadBench(
  dir: string,
  options: { files: number; fileMiB: number; log?: (line: string) => void },
): Promise<UploadResult> {
  const log = options.log ?? (() => {});
  await using server = await startServer({
    ...benchEnv(`${dir}/uploads.kv`, true),
    RATE_LIMIT_WRITE_PER_MIN: "0",
  });
  const base = server.url;
  const alice = await benchToken("alice");
  const bob = await benchToken("bob");
  const api = async (token: string, method: string, path: string, body?: unknown) => {
    const res = await fetch(base + path, {
      method,
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = await res.json();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(data)}`);
    return data;
  };
  await api(bob, "GET", "/api/me");
  const { roomId } = await api(alice, "POST", "/api/chat/start", { receiverId: "bob" });
  const size = options.fileMiB * MiB;

  const upload = async (n: number) => {
    const { upload, put } = await api(alice, "POST", "/api/chat/uploads", {
      roomId,
      name: `file-${n}.bin`,
      contentType: "application/octet-stream",
      size,
    });
    const res = await fetch(new URL(put.url, base), {
      method: "PUT",
      headers: put.headers,
      body: bytes(size, n),
    });
    if (!res.ok) throw new Error(`PUT: ${res.status} ${await res.text()}`);
    await res.body?.cancel();
    const { message } = await api(alice, "POST", "/api/chat/send", {
      roomId,
      type: "file",
      uploadId: upload.id,
    });
    return message.attachmentUrl as string;
  };

  const pid = server.child.pid;
  const sampler = rssSampler(pid);
  const before = residentBytes(pid);
  let t0 = performance.now();
  const urls = await Promise.all(Array.from({ length: options.files }, (_, n) => upload(n)));
  const concurrentS = (performance.now() - t0) / 1000;
  const peakUpload = sampler.peakAndReset();
  log(`  ${options.files} × ${options.fileMiB} MiB at once: ${round(concurrentS, 2)} s`);

  t0 = performance.now();
  await upload(options.files);
  const singleS = (performance.now() - t0) / 1000;

  t0 = performance.now();
  await Promise.all(urls.map(async (url) => {
    const res = await fetch(new URL(url, base));
    let got = 0;
    for await (const part of res.body!) got += part.byteLength;
    if (got !== size) throw new Error(`download: ${got} bytes of ${size}`);
  }));
  const downloadS = (performance.now() - t0) / 1000;
  const peakDownload = await sampler.stop();
  const rawKvGrowthMiB = await rawKvGrowth(`${dir}/uploads-raw.kv`, options.files, size);
  return {
    files: options.files,
    fileMiB: options.fileMiB,
    concurrentMiBps: round((options.files * options.fileMiB) / concurrentS, 1),
    singleMiBps: round(options.fileMiB / singleS, 1),
    downloadMiBps: round((options.files * options.fileMiB) / downloadS, 1),
    rss: {
      beforeMiB: round(before / MiB, 1),
      peakUploadMiB: round(peakUpload / MiB, 1),
      peakDownloadMiB: round(peakDownload / MiB, 1),
    },
    rawKvGrowthMiB,
  };
}

/**
 * RSS growth of a bare `deno` process that commits `files × size` bytes as the
 * KV store does (60 KiB chunk rows, 8 per commit, the files at once).
 */
async function rawKvGrowth(kvPath: string, files: number, size: number): Promise<number> {
  const code = `
    const rss = () => Deno.memoryUsage().rss;
    const kv = await Deno.openKv(${JSON.stringify(kvPath)});
    const before = rss();
    let peak = before;
    const timer = setInterval(() => peak = Math.max(peak, rss()), 20);
    const chunks = Math.ceil(${size} / 61440);
    await Promise.all(Array.from({ length: ${files} }, async (_, f) => {
      for (let c = 0; c < chunks; c += 8) {
        const op = kv.atomic();
        for (let i = c; i < Math.min(c + 8, chunks); i++) op.set(["c", f, i], new Uint8Array(61440).fill(i));
        await op.commit();
      }
    }));
    clearInterval(timer);
    console.log(peak - before);`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--unstable-kv", code],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  return round(Number(new TextDecoder().decode(out.stdout).trim()) / MiB, 1);
}

/** A body of `size` bytes generated 64 KiB at a time (the bench process holds no whole file either). */
function bytes(size: number, seed: number): ReadableStream<Uint8Array> {
  let sent = 0;
  const piece = new Uint8Array(64 * 1024).map((_, i) => (i * 7 + seed) & 0xff);
  return new ReadableStream({
    pull(controller) {
      if (sent >= size) return controller.close();
      const n = Math.min(piece.length, size - sent);
      controller.enqueue(piece.slice(0, n));
      sent += n;
    },
  });
}

/** Samples a process's RSS every 20 ms; reports the peak since the last reset. */
function rssSampler(pid: number) {
  let peak = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      peak = Math.max(peak, residentBytes(pid) || 0);
      await sleep(20);
    }
  })();
  return {
    peakAndReset(): number {
      const value = peak;
      peak = 0;
      return value;
    },
    async stop(): Promise<number> {
      running = false;
      await loop;
      return peak;
    },
  };
}
