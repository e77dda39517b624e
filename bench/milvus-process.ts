/**
 * What the Milvus server process on this machine uses: CPU seconds and resident memory, read from
 * /proc for every process named "milvus" (the standalone's server; its launcher is "milvus-server").
 * A benchmark reads it before and after a phase, so a background compaction or index build that
 * competes with the measured calls shows up beside the numbers instead of hiding in them.
 */
import { readFileSync, readdirSync } from "node:fs";

export interface MilvusUsage {
  /** CPU seconds used so far (user + system), summed over the processes. */
  cpuSeconds: number;
  /** Resident memory now, bytes. */
  rss: number;
  processes: number;
}

// Linux reports process times in clock ticks of 1/100 s on every architecture Node runs on.
const TICKS_PER_SECOND = 100;
const PAGE = 4096;

export function milvusUsage(): MilvusUsage {
  let cpu = 0;
  let rss = 0;
  let processes = 0;
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((p) => /^\d+$/.test(p));
  } catch {
    return { cpuSeconds: NaN, rss: NaN, processes: 0 };
  }
  for (const pid of pids) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    } catch {
      continue; // gone meanwhile
    }
    const open = stat.indexOf("(");
    const close = stat.lastIndexOf(")");
    if (stat.slice(open + 1, close) !== "milvus") continue;
    // Fields after the name: state is field 3; utime 14, stime 15, rss (pages) 24.
    const f = stat.slice(close + 2).split(" ");
    cpu += (Number(f[11]) + Number(f[12])) / TICKS_PER_SECOND;
    rss += Number(f[21]) * PAGE;
    processes++;
  }
  return { cpuSeconds: processes === 0 ? NaN : cpu, rss: processes === 0 ? NaN : rss, processes };
}

/** Milvus's CPU over a phase, in cores: call at the start, call the result at the end. */
export function milvusCpu(): () => number {
  const a = milvusUsage();
  const t0 = performance.now();
  return () => (milvusUsage().cpuSeconds - a.cpuSeconds) / ((performance.now() - t0) / 1000);
}
