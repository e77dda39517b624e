/**
 * A render thread that fails outside any task: the pool's 'error' event is
 * logged, not left to end the process.
 */
import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/log.js";
import { RenderPool } from "../../src/render/render.js";
import { waitFor } from "../helpers/wait.js";

describe("RenderPool thread failures", () => {
  it("logs a thread that fails with no task running, as one JSON line, and piscina starts another", async () => {
    const lines: string[] = [];
    // Below the configurable range: each thread's renderer throws while it starts, before any task reaches it.
    const pool = new RenderPool({ workers: 1, timeoutMs: 5_000, maxMemoryMb: 0, maxQueue: 16 }, createLogger("error", (l) => lines.push(l)));
    try {
      // The first thread's failure, then its replacement's (which fails the same way).
      await waitFor(() => lines.length >= 2, 15_000);
      for (const line of lines) {
        expect(JSON.parse(line)).toMatchObject({
          level: "error",
          msg: "a render thread failed; the pool replaces it",
          error: expect.stringMatching(/a WebAssembly memory cap must be at least 65536 bytes/),
        });
      }
    } finally {
      await pool.close();
    }
  });
});
