/**
 * The svgvec command line:
 *   svgvec serve                      run the gRPC service (configuration from SVGVEC_* variables)
 *   svgvec model pull [REPO]          download a model directory from the Hugging Face hub
 *   svgvec model generate             write a random-weight model for tests and benchmarks
 *   svgvec model export               export OpenCLIP weights to a model directory, checked against OpenCLIP
 *   svgvec index rebuild              replace the collection's vector index with SVGVEC_INDEX_*'s
 * and the client commands of src/cli/commands (add, import, search, list, stats, rm, demo, health), which
 * call a running server through the TypeScript client.
 */
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import type { App } from "../app.js";
import { DEFAULT_MODEL, loadConfig } from "../config.js";
import { SvgVecError, errorMessage } from "../errors.js";
import { createLogger } from "../log.js";
import { exportModel } from "../models/export.js";
import { generateModel, type Preset } from "../models/generate.js";
import { pullModel } from "../models/hub.js";
import { readModelDir } from "../models/model-dir.js";
import { ConnectError } from "@connectrpc/connect";
import { INDEX_REBUILD_USAGE, rebuildIndexCommand } from "./index-rebuild.js";
import { CommandContext, CommandFailure, type ClientCommand, UsageError, describeCallError } from "./command.js";
import { addCommand } from "./commands/add.js";
import { demoCommand } from "./commands/demo.js";
import { healthCommand } from "./commands/health.js";
import { importCommand } from "./commands/import.js";
import { listCommand } from "./commands/list.js";
import { rmCommand } from "./commands/rm.js";
import { searchCommand } from "./commands/search.js";
import { statsCommand } from "./commands/stats.js";

const CLIENT_COMMANDS: readonly ClientCommand[] = [addCommand, importCommand, searchCommand, listCommand, statsCommand, rmCommand, demoCommand, healthCommand];

const USAGE = `usage:
  svgvec serve
  svgvec model pull [REPO] [--dir DIR] [--revision REV] [--if-missing]
  svgvec model generate [--preset tiny|vit-b-32] [--batch 1|dynamic] --out DIR [--vocab FILE] [--seed N]
  svgvec model export [--arch ViT-B-32] [--pretrained laion2b_s34b_b79k] --dir DIR [--batch dynamic|1]
                      [--random-init] [--python PY]
  ${INDEX_REBUILD_USAGE}

Client commands, against a running server (svgvec COMMAND --help for each):
${CLIENT_COMMANDS.map((c) => `  svgvec ${c.summary}`).join("\n")}

Configuration comes from SVGVEC_* environment variables; see the README.
Exit status: 0 on success, 1 when a command fails, 2 for a usage error.`;

async function main(argv: string[]): Promise<number> {
  const [command, sub, ...rest] = argv;
  if (command === "serve") return serve();
  if (command === "model" && sub === "pull") return pull(rest);
  if (command === "model" && sub === "generate") return generate(rest);
  if (command === "model" && sub === "export") return exportCommand(rest);
  if (command === "index" && sub === "rebuild") return rebuildIndexCommand(rest, loadConfig(), process.stdout, process.stderr);
  const client = CLIENT_COMMANDS.find((c) => c.name === command);
  if (client !== undefined) return runClientCommand(client, argv.slice(1));
  if (command === undefined || command === "help" || command === "--help" || command === "-h") {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const problem =
    command === "model"
      ? `"model" takes pull, generate or export${sub === undefined ? "" : `, not "${sub}"`}`
      : command === "index"
        ? `"index" takes rebuild${sub === undefined ? "" : `, not "${sub}"`}`
        : `unknown command "${command}"`;
  process.stderr.write(`svgvec: ${problem}\n${USAGE}\n`);
  return 2;
}

/** Runs a client command: 2 for a usage error, 1 with a one-line reason for a failure. */
async function runClientCommand(command: ClientCommand, args: string[]): Promise<number> {
  const ctx = new CommandContext();
  // A reader that has seen enough (svgvec list | head) closes the pipe: stop quietly, as cat does.
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(0);
    throw e;
  });
  try {
    return await command.run(args, ctx);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`svgvec ${command.name}: ${e.message}\nrun "svgvec ${command.name} --help" for usage\n`);
      return 2;
    }
    const reason =
      e instanceof ConnectError ? describeCallError(e, ctx.address ?? "the server") : e instanceof CommandFailure ? e.message : errorMessage(e);
    process.stderr.write(`svgvec ${command.name}: ${reason.replace(/\s*\n\s*/g, " ")}\n`);
    return 1;
  }
}

/** After a crash, calls get this long to finish before they are cancelled (less when SVGVEC_SHUTDOWN_GRACE_MS is less). */
const CRASH_GRACE_MS = 5_000;
/** After a crash, the process exits this long after it began to close, whether or not closing has finished. */
const CRASH_EXIT_MS = 15_000;

async function serve(): Promise<number> {
  const config = loadConfig();
  const log = createLogger(config.logLevel);
  let app: App | undefined;
  let crashed = false;
  // After a failure nothing handled, svgvec's state is unknown: say what happened, close what can be
  // closed (Milvus Lite above all), and exit non-zero so that a supervisor starts a fresh process.
  const crash = (what: string) => (err: unknown) => {
    log.error(`${what}; svgvec is stopping`, { error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    if (crashed) return;
    crashed = true;
    setTimeout(() => process.exit(1), CRASH_EXIT_MS);
    Promise.resolve(app?.close(Math.min(config.shutdownGraceMs, CRASH_GRACE_MS)))
      .catch((e: unknown) => log.error("shutdown after the crash failed", { error: errorMessage(e) }))
      .finally(() => process.exit(1));
  };
  process.on("unhandledRejection", crash("unhandled rejection"));
  process.on("uncaughtException", crash("uncaught exception"));
  // Loaded here, not at the top: the server stack takes a second to load, which client commands need not wait for.
  const { startApp } = await import("../app.js");
  const started = await startApp(config, log);
  app = started;
  process.stdout.write(`svgvec listening on ${started.address}${started.httpAddress === "" ? "" : ` (gRPC), http://${started.httpAddress} (HTTP)`}\n`);
  await new Promise<void>((done) => {
    const stop = (signal: string) => {
      log.info("shutting down", { signal });
      started.close(config.shutdownGraceMs).then(done, (e: unknown) => {
        log.error("shutdown failed", { error: errorMessage(e) });
        done();
      });
    };
    process.once("SIGINT", () => stop("SIGINT"));
    process.once("SIGTERM", () => stop("SIGTERM"));
  });
  return crashed ? 1 : 0;
}

async function pull(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { dir: { type: "string" }, revision: { type: "string", default: "main" }, "if-missing": { type: "boolean", default: false } },
  });
  const config = loadConfig();
  const repo = positionals[0] ?? DEFAULT_MODEL;
  const dir = values.dir !== undefined ? resolve(values.dir) : repo === DEFAULT_MODEL ? config.model.dir : resolve("models", repo.split("/").pop() ?? repo);
  // A container that restarts must not need the hub when its volume already holds the model.
  if (values["if-missing"] === true && (await readModelDir({ ...config.model, dir }).then(() => true, () => false))) {
    process.stdout.write(`model already in ${dir}\n`);
    return 0;
  }
  await pullModel({ endpoint: config.hubEndpoint, repo, revision: values.revision ?? "main", dir, progress: process.stderr.isTTY });
  process.stdout.write(`model ready in ${dir}\n`);
  return 0;
}

async function generate(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      preset: { type: "string", default: "tiny" },
      batch: { type: "string", default: "1" },
      out: { type: "string" },
      vocab: { type: "string" },
      seed: { type: "string" },
    },
  });
  if (values.out === undefined) throw new Error("--out DIR is required");
  if (values.preset !== "tiny" && values.preset !== "vit-b-32") throw new Error("--preset must be tiny or vit-b-32");
  if (values.batch !== "1" && values.batch !== "dynamic") throw new Error("--batch must be 1 or dynamic");
  const config = loadConfig();
  const out = await generateModel({
    preset: values.preset as Preset,
    batch: values.batch,
    out: resolve(values.out),
    python: config.milvus.python,
    ...(values.vocab !== undefined ? { vocab: resolve(values.vocab) } : {}),
    ...(values.seed !== undefined ? { seed: Number(values.seed) } : {}),
  });
  process.stdout.write(`${out}\n`);
  return 0;
}

async function exportCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      arch: { type: "string", default: "ViT-B-32" },
      pretrained: { type: "string", default: "laion2b_s34b_b79k" },
      dir: { type: "string" },
      batch: { type: "string", default: "dynamic" },
      "random-init": { type: "boolean", default: false },
      python: { type: "string" },
    },
  });
  if (values.dir === undefined) return usage("model export needs --dir DIR, a new directory for the model");
  if (values.batch !== "1" && values.batch !== "dynamic") return usage(`--batch must be dynamic or 1, not "${values.batch}"`);
  const result = await exportModel({
    arch: values.arch!,
    pretrained: values.pretrained!,
    randomInit: values["random-init"] === true,
    batch: values.batch,
    dir: resolve(values.dir),
    ...(values.python !== undefined ? { python: values.python } : {}),
    log: (line) => process.stderr.write(`${line}\n`),
  });
  const p = result.parity;
  process.stdout.write(
    `parity with OpenCLIP (torch ${result.torch}, open_clip ${result.openClip}): ` +
      `${p.images} images min cos ${p.imageMinCos.toFixed(6)} (other images up to ${p.imageMaxCosOther.toFixed(4)}), ` +
      `${p.texts} texts min cos ${p.textMinCos.toFixed(6)} (other texts up to ${p.textMaxCosOther.toFixed(4)})\n` +
      `model ready in ${result.dir}\n`,
  );
  return 0;
}

function usage(problem: string): number {
  process.stderr.write(`svgvec: ${problem}\n${USAGE}\n`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`svgvec: ${e instanceof SvgVecError ? e.message : errorMessage(e)}\n`);
    process.exit(1);
  },
);
