/** The benchmarks' child processes (insert-child.ts, list-child.ts): the parent's side and the child's. */
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";

/** Forks the module with tsx, sends it job over IPC and resolves with the done value it sends back. */
export function runChild<J, D>(module: string, job: J): Promise<D> {
  const child = fork(fileURLToPath(new URL(module, import.meta.url)), [], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
  return new Promise<D>((resolve, reject) => {
    let answered = false;
    child.once("message", (m: { done?: D; error?: string }) => {
      answered = true;
      if (m.error !== undefined) reject(new Error(`${module}: ${m.error}`));
      else resolve(m.done!);
    });
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      if (!answered) reject(new Error(`${module} exited (${signal ?? code}) without an answer`));
    });
    child.send(job as object);
  });
}

/**
 * The child's side: when this process was forked with IPC, waits for one job, runs it, sends back
 * { done } or { error } and exits. A module imported without IPC does nothing.
 */
export function serveChild<J, D>(run: (job: J) => Promise<D>): void {
  const send = process.send?.bind(process);
  if (send === undefined) return;
  process.once("message", (job: J) => {
    run(job).then(
      (done) => send({ done }, undefined, {}, () => process.exit(0)),
      (e: unknown) => send({ error: e instanceof Error ? e.message : String(e) }, undefined, {}, () => process.exit(1)),
    );
  });
}
