/** Runs one of the benchmarks' child modules (insert-child.ts, list-child.ts) in its own Node process. */
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
