import { describe, expect, it } from "vitest";
import { monitorEventLoop } from "../src/event-loop-monitor.js";
import { createLogger } from "../src/log.js";
import { waitFor } from "./helpers/wait.js";

function capture(): { lines: Array<Record<string, unknown>>; log: ReturnType<typeof createLogger> } {
  const lines: Array<Record<string, unknown>> = [];
  return { lines, log: createLogger("debug", (l) => lines.push(JSON.parse(l) as Record<string, unknown>)) };
}

function block(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // Holds the thread, as a backtracking pattern would.
  }
}

describe("monitorEventLoop", () => {
  it("logs a warning with the delay when the main thread was blocked past the threshold", async () => {
    const { lines, log } = capture();
    const monitor = monitorEventLoop(log, 150, 50);
    try {
      // The histogram's first sample is its baseline: block once it is running, as a server would be.
      await new Promise<void>((r) => setTimeout(() => r(block(400)), 100));
      await waitFor(() => lines.some((l) => l.msg === "event loop blocked"), 5_000);
      const warning = lines.find((l) => l.msg === "event loop blocked")!;
      expect(warning.level).toBe("warn");
      expect(warning.maxDelayMs).toBeGreaterThanOrEqual(300);
      expect(warning.thresholdMs).toBe(150);
    } finally {
      monitor.stop();
    }
  });

  it("is off when the threshold is 0", () => {
    const { lines, log } = capture();
    monitorEventLoop(log, 0, 10).stop();
    block(50);
    expect(lines).toEqual([]);
  });
});
