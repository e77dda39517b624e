/**
 * Where a worker thread's code is. Worker threads run JavaScript: in the build
 * the worker sits beside its caller, but under a TypeScript runner (the tests)
 * only its .ts source does, so the build in dist/ is used instead. A build
 * older than the source beside the caller is refused, loudly, rather than
 * running yesterday's worker against today's code.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/**
 * The compiled worker `name` for the module at callerUrl; distDir is the folder
 * of the build that mirrors the caller's folder (e.g. ../../dist/render/).
 */
export function workerFile(callerUrl: string, name: string, distDir: string): URL {
  const sibling = new URL(`./${name}.js`, callerUrl);
  if (existsSync(fileURLToPath(sibling))) return sibling;
  const built = fileURLToPath(new URL(`${distDir}${name}.js`, callerUrl));
  const sourceDir = dirname(fileURLToPath(callerUrl));
  if (!existsSync(built)) {
    throw new Error(`${relative(process.cwd(), built)} is missing: run \`npm run build\` (npm test builds first)`);
  }
  const builtAt = statSync(built).mtimeMs;
  const newer = readdirSync(sourceDir).filter((f) => f.endsWith(".ts") && statSync(join(sourceDir, f)).mtimeMs > builtAt);
  if (newer.length > 0) {
    throw new Error(
      `${relative(process.cwd(), built)} is older than ${newer.map((f) => relative(process.cwd(), join(sourceDir, f))).join(", ")}: ` +
        `run \`npm run build\` (npm test builds first), or the worker threads would run stale code`,
    );
  }
  return pathToFileURL(built);
}
