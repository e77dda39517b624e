/**
 * Natural batching: work submitted while the worker is idle starts at once;
 * work submitted while it is busy waits and goes out together in the next run.
 * Light load gets single-item latency, heavy load gets full batches, and no
 * timer ever holds an item back.
 */
export interface BatcherOptions {
  /** Most items per run. */
  maxBatch: number;
  /** Runs in flight at once. */
  concurrency: number;
  /** Told of the queue's length and each run's size (for metrics). */
  observer?: BatchObserver;
}

export interface BatchObserver {
  /** Items joined the queue (change > 0) or left it (change < 0). */
  queued(change: number): void;
  /** A run started with this many items. */
  ran(items: number): void;
}

interface Pending<I, O> {
  item: I;
  resolve: (out: O) => void;
  reject: (err: unknown) => void;
  /** Stops listening for the caller's cancellation once the item leaves the queue. */
  detach: () => void;
}

export class Batcher<I, O> {
  private readonly queue: Array<Pending<I, O>> = [];
  private running = 0;
  private idleWaiters: Array<() => void> = [];
  /** Items per run so far, for stats and benchmarks. */
  readonly runSizes: number[] = [];

  constructor(
    /** Must return one output per input, in order; a throw fails the whole run. */
    private readonly run: (items: I[]) => Promise<O[]>,
    private readonly options: BatcherOptions,
  ) {}

  /**
   * Queues item for the next run. A signal that aborts while the item still
   * waits takes it out of the queue; once its run has started it runs to the end.
   */
  submit(item: I, signal?: AbortSignal): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const pending: Pending<I, O> = { item, resolve, reject, detach: () => undefined };
      if (signal !== undefined) {
        const onAbort = () => {
          const at = this.queue.indexOf(pending);
          if (at < 0) return;
          this.queue.splice(at, 1);
          this.options.observer?.queued(-1);
          reject(signal.reason);
          this.notifyIdle();
        };
        signal.addEventListener("abort", onAbort, { once: true });
        pending.detach = () => signal.removeEventListener("abort", onAbort);
      }
      this.queue.push(pending);
      this.options.observer?.queued(1);
      this.pump();
    });
  }

  /** Resolves once nothing is queued or running. */
  idle(): Promise<void> {
    if (this.queue.length === 0 && this.running === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  get pending(): number {
    return this.queue.length + this.running;
  }

  private pump(): void {
    while (this.running < this.options.concurrency && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.options.maxBatch);
      this.options.observer?.queued(-batch.length);
      this.options.observer?.ran(batch.length);
      for (const p of batch) p.detach();
      this.running++;
      if (this.runSizes.length < 100_000) this.runSizes.push(batch.length);
      this.run(batch.map((p) => p.item))
        .then(
          (outs) => {
            if (outs.length !== batch.length) throw new Error(`batch run returned ${outs.length} results for ${batch.length} items`);
            batch.forEach((p, i) => p.resolve(outs[i]!));
          },
          (err: unknown) => batch.forEach((p) => p.reject(err)),
        )
        .catch((err: unknown) => batch.forEach((p) => p.reject(err)))
        .finally(() => {
          this.running--;
          this.pump();
          this.notifyIdle();
        });
    }
  }

  private notifyIdle(): void {
    if (this.queue.length === 0 && this.running === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      waiters.forEach((w) => w());
    }
  }
}
