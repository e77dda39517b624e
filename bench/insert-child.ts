/**
 * One loader process of bench/scale.ts: inserts rows [from, to) into the collection with its own
 * Milvus client, batch rows a call, inFlight calls at once, and reports back over IPC. The SDK
 * turns each row into columns and protobuf on the JavaScript thread, which bounds one process to
 * about one core's worth of rows; several of these use the other cores.
 */
import { MilvusClient, type RowData } from "@zilliz/milvus2-sdk-node";
import { MILVUS_CHANNEL_OPTIONS } from "../src/store/milvus-store.js";
import { serveChild } from "./child.js";
import { withoutLogCopy } from "./milvus.js";
import { randomUnit } from "./vectors.js";

export interface InsertJob {
  address: string;
  collection: string;
  from: number;
  to: number;
  batch: number;
  inFlight: number;
  now: string;
}

export interface InsertDone {
  seconds: number;
  /** This process's CPU over the wall time, in cores. */
  cpu: number;
  /** Seconds spent making the rows (random vectors), inside seconds. */
  buildSeconds: number;
}

async function run(job: InsertJob): Promise<InsertDone> {
  const client = new MilvusClient({ address: job.address, channelOptions: MILVUS_CHANNEL_OPTIONS, logLevel: "error", timeout: 120_000 });
  let next = job.from;
  let buildMs = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  try {
    await Promise.all(
      Array.from({ length: job.inFlight }, async () => {
        for (let start = next; start < job.to; start = next) {
          next = Math.min(job.to, start + job.batch);
          const b0 = performance.now();
          const data: RowData[] = [];
          for (let i = start; i < next; i++) {
            data.push({ id: String(i), url: `https://example.com/${i}.svg`, vector: randomUnit(), added_at: job.now, updated_at: job.now });
          }
          buildMs += performance.now() - b0;
          const res = await client.insert(withoutLogCopy({ collection_name: job.collection, data }));
          if (res.status.error_code !== "Success" || Number(res.insert_cnt) !== data.length) {
            throw new Error(`insert of rows ${start}..${next - 1} failed: ${res.status.reason || res.status.error_code}, ${res.insert_cnt} inserted`);
          }
        }
      }),
    );
  } finally {
    await client.closeConnection().catch(() => undefined);
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { seconds, cpu: (cpu.user + cpu.system) / 1e6 / seconds, buildSeconds: buildMs / 1000 };
}

serveChild(run);
