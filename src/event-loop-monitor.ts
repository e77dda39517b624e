/**
 * Watches the main thread's event-loop delay and logs when it passes a
 * threshold. Everything svgvec serves runs on that one thread, so a step that
 * blocks it (a pattern that backtracks, a huge synchronous parse) stalls every
 * call and even health checks; this makes such a stall visible in the log.
 */
import { monitorEventLoopDelay } from "node:perf_hooks";
import type { Logger } from "./log.js";

export interface EventLoopMonitor {
  stop(): void;
}

const NS_PER_MS = 1e6;

/** Checks every intervalMs; logs a warning for an interval whose longest delay reached thresholdMs. */
export function monitorEventLoop(log: Logger, thresholdMs: number, intervalMs = 1_000): EventLoopMonitor {
  if (thresholdMs <= 0) return { stop: () => undefined };
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  const check = () => {
    const maxMs = histogram.max / NS_PER_MS;
    if (maxMs >= thresholdMs) {
      log.warn("event loop blocked", {
        maxDelayMs: Math.round(maxMs),
        p99DelayMs: Math.round(histogram.percentile(99) / NS_PER_MS),
        thresholdMs,
        hint: "one synchronous step held the main thread this long and every call waited for it",
      });
    }
    histogram.reset();
  };
  // Read in the check phase: after a block, the histogram's own timer (which records the delay) has
  // then run too; read before it, and reset() would drop the delayed sample unseen.
  const timer = setInterval(() => setImmediate(check), intervalMs);
  timer.unref();
  return {
    stop: () => {
      clearInterval(timer);
      histogram.disable();
    },
  };
}
