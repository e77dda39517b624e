/**
 * The ListImages client of bench/scale.ts, in a process of its own so that the server's memory and
 * the client's are measured apart: streams every record from the svgvec at address and reports the
 * count, pages, seconds and its own peak RSS over IPC.
 */
import { SvgVecClient } from "../test/helpers/grpc-client.js";
import { serveChild } from "./child.js";

export interface ListJob {
  address: string;
  pageSize: number;
}

export interface ListDone {
  listed: number;
  pages: number;
  seconds: number;
  peakRss: number;
}

async function run(job: ListJob): Promise<ListDone> {
  const client = new SvgVecClient(job.address, { channel: { "grpc.max_receive_message_length": 64 * 2 ** 20 } });
  let listed = 0;
  let pages = 0;
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
  const t0 = performance.now();
  try {
    for await (const page of client.listImages({ pageSize: job.pageSize })) {
      listed += page.images.length;
      pages++;
    }
  } finally {
    clearInterval(sampler);
    client.close();
  }
  const seconds = (performance.now() - t0) / 1000;
  // Sampled, not resourceUsage().maxRSS: a forked child's maxRSS starts from its parent's.
  return { listed, pages, seconds, peakRss: Math.max(peakRss, process.memoryUsage().rss) };
}

serveChild(run);
