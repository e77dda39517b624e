/**
 * Runs a benchmark's main function and exits with its outcome: the servers
 * and worker threads a benchmark starts must not keep the process alive.
 */
export function runBench(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
}

/** The p-th percentile of xs (nearest rank). */
export function pct(xs: readonly number[], p: number): number {
  return [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
}
