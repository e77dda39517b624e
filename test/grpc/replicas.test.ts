/**
 * Two svgvec processes on one Milvus standalone collection, as several replicas behind a load
 * balancer run: neither may trust its own memory of what it wrote over what Milvus holds.
 */
import { readFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { AddOutcome, type AddImageResponse, type Image } from "../../src/gen/svgvec/v1/svgvec_pb.js";
import { type Corpus, OPENMOJI_DIR, startCorpus } from "../helpers/corpus.js";
import { SvgVecClient } from "../helpers/grpc-client.js";
import { uniqueCollection } from "../helpers/milvus.js";
import { type ServerProcess, startServerProcess } from "../helpers/server-process.js";
import { waitFor } from "../helpers/wait.js";

/** The emoji the served files switch between. */
const POOL = ["1F436", "1F431", "1F98A", "1F42E"] as const;
/** Ids that hold the pool's own embeddings, away from the ids under test. */
const POOL_IDS = POOL.map((_, i) => 1_000_000n + BigInt(i));

interface Replica {
  process: ServerProcess;
  client: SvgVecClient;
}

describe("several svgvec replicas on one Milvus", () => {
  let corpus: Corpus;
  let a: Replica;
  let b: Replica;
  /** The embedding of each pool emoji, as svgvec computes it. */
  const embedding = new Map<string, number[]>();
  const svg = (hex: string): Buffer => readFileSync(join(OPENMOJI_DIR, `${hex}.svg`));

  beforeAll(async () => {
    corpus = await startCorpus();
    const env = {
      SVGVEC_MILVUS_ADDRESS: inject("standaloneAddress"),
      SVGVEC_COLLECTION: uniqueCollection("replicas"),
      SVGVEC_DATA_DIR: await mkdtemp(join(tmpdir(), "svgvec-replicas-")),
      SVGVEC_LOG_LEVEL: "error",
    };
    // One after the other: the first creates the collection, the second finds it.
    const start = async (): Promise<Replica> => {
      const process = await startServerProcess(env);
      return { process, client: new SvgVecClient(process.address) };
    };
    a = await start();
    b = await start();
    for (const [i, hex] of POOL.entries()) {
      const res = await a.client.addImage({ id: POOL_IDS[i]!, url: corpus.openmoji(hex), includeVector: true });
      embedding.set(hex, res.image!.vector);
      // Warms B's encoders too, so that neither replica lags the other by its first embeddings.
      await b.client.addImage({ id: POOL_IDS[i]!, url: corpus.openmoji(hex) });
    }
    // The check below can only tell the pool's files apart if their embeddings differ.
    for (const x of POOL) for (const y of POOL) if (x !== y) expect(cosine(embedding.get(x)!, embedding.get(y)!)).toBeLessThan(0.999);
  }, 120_000);

  afterAll(async () => {
    for (const r of [a, b]) {
      r?.client.close();
      r?.process.child.kill("SIGTERM");
      await r?.process.exited;
    }
    await corpus?.close();
  });

  it("re-embeds a url whose stored vector another replica replaced, instead of answering unchanged", async () => {
    const url = corpus.serve("aba.svg", svg("1F436"));
    expect((await a.client.addImage({ id: 7n, url })).outcome).toBe(AddOutcome.ADDED);
    corpus.serve("aba.svg", svg("1F431"));
    expect((await b.client.addImage({ id: 7n, url })).outcome).toBe(AddOutcome.REPLACED);
    corpus.serve("aba.svg", svg("1F436"));
    // A wrote this url with this content last time, but B's vector is what Milvus holds now.
    const again = await a.client.addImage({ id: 7n, url });
    expect(again.outcome).toBe(AddOutcome.REPLACED);
    const stored = (await records(a.client)).get(7n)!;
    expect(stored).toHaveLength(1);
    expect(cosine(stored[0]!.vector, embedding.get("1F436")!)).toBeGreaterThan(0.9999);
    // Now A's memory and Milvus agree again, so the same add is recognised.
    expect((await a.client.addImage({ id: 7n, url })).outcome).toBe(AddOutcome.UNCHANGED);
  }, 60_000);

  it("ends interleaved streams on overlapping ids, with files changing between sends, with one current record per id", async () => {
    const ids = Array.from({ length: 24 }, (_, i) => 100n + BigInt(i));
    const random = mulberry32(14);
    const pick = (): string => POOL[Math.floor(random() * POOL.length)]!;
    const current = new Map<bigint, string>();
    const urlOf = (id: bigint): string => `${corpus.base}/served/f${id}.svg`;
    const serve = (id: bigint, hex: string, together = 1): void => {
      corpus.serve(`f${id}.svg`, svg(hex), { together });
      current.set(id, hex);
    };

    // Round 0: every id is new, and both replicas add it at once (their downloads are answered together).
    for (const id of ids) serve(id, pick(), 2);
    const first = new Map<bigint, AddImageResponse[]>();
    await Promise.all(
      ids.map(async (id) => first.set(id, await Promise.all([a.client.addImage({ id, url: urlOf(id) }), b.client.addImage({ id, url: urlOf(id) })]))),
    );
    // added_at is the earliest write's time, whoever wrote last.
    const addedAt = new Map([...first].map(([id, res]) => [id, res.map((r) => r.image!.addedAt).sort()[0]!]));
    const raced = [...first.values()].filter((res) => res.every((r) => r.outcome === AddOutcome.ADDED)).length;
    expect(raced, "no id was added by both replicas at once, so the race was not exercised").toBeGreaterThan(0);
    await waitFor(async () => {
      const stored = await records(a.client);
      return ids.every((id) => stored.get(id)?.[0]?.addedAt === addedAt.get(id));
    }, 30_000);
    for (const id of ids) serve(id, current.get(id)!);

    // Later rounds: files change between sends; each replica streams an overlapping share of the ids, in its own order.
    // Files switch between two contents, so a replica often meets again the content it wrote before the other replica's.
    for (let round = 0; round < 8; round++) {
      for (const id of ids) if (random() < 0.5) serve(id, current.get(id) === POOL[0] ? POOL[1] : POOL[0]);
      const toA = ids.filter(() => random() < 0.7);
      const toB = ids.filter(() => random() < 0.7).reverse();
      const [sa, sb] = await Promise.all([
        a.client.streamAddImages(toA.map((id) => ({ id, url: urlOf(id) }))),
        b.client.streamAddImages(toB.map((id) => ({ id, url: urlOf(id) }))),
      ]);
      expect([sa.failed, sb.failed]).toEqual([0n, 0n]);
    }
    // Every id is sent once more after the last change, to one replica or the other.
    const last = ids.map((id) => ({ id, url: urlOf(id) }));
    await Promise.all([
      a.client.streamAddImages(last.filter((_, i) => i % 2 === 0)),
      b.client.streamAddImages(last.filter((_, i) => i % 2 === 1)),
    ]);

    const stored = await records(a.client);
    for (const id of ids) {
      const rows = stored.get(id) ?? [];
      expect(rows, `records of id ${id}`).toHaveLength(1);
      const row = rows[0]!;
      expect(cosine(row.vector, embedding.get(current.get(id)!)!), `vector of id ${id} against ${current.get(id)}`).toBeGreaterThan(0.9999);
      expect(row.addedAt, `added_at of id ${id}`).toBe(addedAt.get(id));
      expect(Date.parse(row.updatedAt)).toBeGreaterThanOrEqual(Date.parse(row.addedAt));
      expect(Date.parse(row.updatedAt)).toBeLessThanOrEqual(Date.now());
    }
    expect([...stored.keys()].filter((id) => !ids.includes(id) && !POOL_IDS.includes(id) && id !== 7n)).toEqual([]);
  }, 180_000);
});

/** Every stored record with its vector, by id (a list, so that a duplicate would show). */
async function records(client: SvgVecClient): Promise<Map<bigint, Image[]>> {
  const out = new Map<bigint, Image[]>();
  for await (const page of client.listImages({ includeVectors: true })) {
    for (const image of page.images) out.set(image.id, [...(out.get(image.id) ?? []), image]);
  }
  return out;
}

function cosine(x: readonly number[], y: readonly number[]): number {
  let dot = 0;
  let nx = 0;
  let ny = 0;
  for (let i = 0; i < x.length; i++) {
    dot += x[i]! * y[i]!;
    nx += x[i]! * x[i]!;
    ny += y[i]! * y[i]!;
  }
  return dot / Math.sqrt(nx * ny);
}

/** A small seeded generator, so a failing run can be repeated exactly. */
function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
