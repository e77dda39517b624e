import { describe, expect, it } from "vitest";
import { Batcher } from "../src/batcher.js";

/** A run function the test releases by hand, so what forms a batch does not depend on timing. */
function gated(): { run: (items: number[]) => Promise<number[]>; runs: number[][]; release(): void } {
  const runs: number[][] = [];
  let gates: Array<() => void> = [];
  return {
    runs,
    run: (items) => {
      runs.push(items);
      return new Promise<number[]>((resolve) => gates.push(() => resolve(items.map((i) => i * 10))));
    },
    release: () => {
      const open = gates;
      gates = [];
      open.forEach((g) => g());
    },
  };
}

/** Lets every settled promise's callbacks run, so the next batch has been taken. */
const settle = () => new Promise((r) => setImmediate(r));

describe("Batcher", () => {
  it("starts the first item at once and sends what queued meanwhile as the next batches, up to maxBatch", async () => {
    const g = gated();
    const batcher = new Batcher(g.run, { maxBatch: 8, concurrency: 1 });
    const results = Array.from({ length: 20 }, (_, i) => batcher.submit(i));
    expect(g.runs).toEqual([[0]]);
    expect(batcher.pending).toBe(20);
    g.release();
    await settle();
    expect(g.runs.slice(1)).toEqual([[1, 2, 3, 4, 5, 6, 7, 8]]);
    g.release();
    await settle();
    g.release();
    await settle();
    g.release();
    expect(await Promise.all(results)).toEqual(Array.from({ length: 20 }, (_, i) => i * 10));
    expect(g.runs.map((r) => r.length)).toEqual([1, 8, 8, 3]);
    expect(batcher.runSizes).toEqual([1, 8, 8, 3]);
    await batcher.idle();
    expect(batcher.pending).toBe(0);
  });

  it("runs up to concurrency batches at once", () => {
    const g = gated();
    const batcher = new Batcher(g.run, { maxBatch: 2, concurrency: 2 });
    for (let i = 0; i < 5; i++) void batcher.submit(i);
    expect(g.runs).toEqual([[0], [1]]);
    g.release();
  });

  it("takes an item whose signal aborts out of the queue, and never runs it", async () => {
    const g = gated();
    const batcher = new Batcher(g.run, { maxBatch: 8, concurrency: 1 });
    const first = batcher.submit(1);
    const abort = new AbortController();
    const dropped = batcher.submit(2, abort.signal);
    const kept = batcher.submit(3);
    abort.abort(new Error("caller left"));
    await expect(dropped).rejects.toThrow("caller left");
    expect(batcher.pending).toBe(2);
    g.release();
    expect(await first).toBe(10);
    await settle();
    g.release();
    expect(await kept).toBe(30);
    expect(g.runs).toEqual([[1], [3]]);
  });

  it("refuses an item whose signal has already aborted, and lets a started run finish", async () => {
    const g = gated();
    const batcher = new Batcher(g.run, { maxBatch: 8, concurrency: 1 });
    await expect(batcher.submit(1, AbortSignal.abort(new Error("too late")))).rejects.toThrow("too late");
    const abort = new AbortController();
    const started = batcher.submit(2, abort.signal);
    abort.abort(new Error("after start"));
    g.release();
    expect(await started).toBe(20);
    expect(g.runs).toEqual([[2]]);
  });

  it("fails every item of a run that throws, and goes on with the next", async () => {
    let calls = 0;
    const batcher = new Batcher<number, number>(async (items) => {
      calls++;
      if (calls === 1) throw new Error("model crashed");
      return items;
    }, { maxBatch: 4, concurrency: 1 });
    const a = batcher.submit(1);
    const b = batcher.submit(2);
    await expect(a).rejects.toThrow("model crashed");
    expect(await b).toBe(2);
  });

  it("tells its observer how many items wait and how many each run takes", async () => {
    const g = gated();
    let waiting = 0;
    const ran: number[] = [];
    const observer = { queued: (change: number) => (waiting += change), ran: (items: number) => ran.push(items) };
    const batcher = new Batcher(g.run, { maxBatch: 4, concurrency: 1, observer });
    const results = [batcher.submit(1), batcher.submit(2), batcher.submit(3)];
    const abort = new AbortController();
    const dropped = batcher.submit(4, abort.signal);
    results.push(...[5, 6, 7, 8].map((i) => batcher.submit(i)));
    expect([waiting, ran]).toEqual([7, [1]]);
    abort.abort(new Error("caller left"));
    await expect(dropped).rejects.toThrow("caller left");
    expect(waiting).toBe(6);
    g.release();
    await settle();
    expect([waiting, ran]).toEqual([2, [1, 4]]);
    g.release();
    await settle();
    g.release();
    await Promise.all(results);
    expect([waiting, ran]).toEqual([0, [1, 4, 2]]);
  });
});
