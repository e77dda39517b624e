/**
 * Finds a tool that `npm run setup:test` installs with `go install`.
 */
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

/** The binary's path: $<ENV>, $GOBIN, $GOPATH/bin (~/go/bin) or PATH; throws with the install command. */
export function goBinary(name: string, envVar: string, installCommand: string): string {
  const candidates = [
    process.env[envVar],
    process.env.GOBIN && join(process.env.GOBIN, name),
    join(process.env.GOPATH ?? join(homedir(), "go"), "bin", name),
    ...(process.env.PATH ?? "").split(":").map((d) => join(d, name)),
  ];
  const found = candidates.find((c): c is string => typeof c === "string" && c !== "" && existsSync(c));
  if (found === undefined) throw new Error(`${name} not found: install it with \`${installCommand}\``);
  return found;
}
