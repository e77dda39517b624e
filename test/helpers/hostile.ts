/**
 * The hostile SVG corpus: hand-written files in test/fixtures/hostile, plus
 * large ones generated here so they need not sit in git. {{BASE}} in a file
 * becomes the loopback corpus server (its /canary/ paths must never be
 * requested) and {{FIXTURES}} the absolute path of the fixture folder (its
 * red.png must never be read).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "../../src/models/generate.js";

export const HOSTILE_DIR = join(REPO_ROOT, "test/fixtures/hostile");

export interface HostileCase {
  name: string;
  /** "renders" (safely, with nothing fetched or read), "times out", or the reason it is refused. */
  outcome: "renders" | "times out" | RegExp;
}

export const HOSTILE_CASES: HostileCase[] = [
  { name: "billion-laughs.svg", outcome: /cannot be parsed: .*entity reference loop/ },
  { name: "external-entity.svg", outcome: /cannot be parsed: .*unknown entity reference/ },
  { name: "image-file-absolute.svg", outcome: "renders" },
  { name: "image-file-url.svg", outcome: "renders" },
  { name: "image-file-relative.svg", outcome: "renders" },
  { name: "image-file-svg.svg", outcome: "renders" },
  { name: "external-references.svg", outcome: "renders" },
  { name: "scripts.svg", outcome: "renders" },
  { name: "enormous-size.svg", outcome: "renders" },
  { name: "invalid-xml.svg", outcome: /cannot be parsed/ },
  { name: "empty.svg", outcome: /not an SVG: the file is empty/ },
  { name: "non-utf8.svg", outcome: /not UTF-8 text/ },
  { name: "utf16.svg", outcome: /not an SVG: the file is UTF-16 text/ },
  { name: "png-renamed.svg", outcome: /not an SVG: the file is a PNG image/ },
  { name: "slow-filters.svg", outcome: "times out" },
  { name: "generated/deep-nesting.svg", outcome: /cannot be parsed: .*nodes limit/ },
  { name: "generated/huge-path.svg", outcome: "renders" },
  { name: "generated/many-elements.svg", outcome: "renders" },
];

/** The bytes of a hostile case, placeholders filled in. */
export function hostileSvg(name: string, base: string): Buffer {
  if (name.startsWith("generated/")) return Buffer.from(generated(name.slice("generated/".length)));
  const raw = readFileSync(join(HOSTILE_DIR, name));
  if (!raw.includes("{{")) return raw;
  return Buffer.from(raw.toString("utf8").replaceAll("{{BASE}}", base).replaceAll("{{FIXTURES}}", HOSTILE_DIR));
}

const SVG_OPEN = '<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100">';

function generated(name: string): string {
  switch (name) {
    case "deep-nesting.svg": // 100,000 nested groups
      return `${SVG_OPEN}${"<g>".repeat(100_000)}<rect width="9" height="9"/>${"</g>".repeat(100_000)}</svg>`;
    case "huge-path.svg": {
      // One path of 400,000 short segments (about 3 MB of path data)
      const d = ["M10 10"];
      for (let i = 0; i < 400_000; i++) d.push(i % 2 === 0 ? "l0.2 0.1" : "l-0.1 0");
      return `${SVG_OPEN}<path d="${d.join(" ")}" stroke="#000" fill="none"/></svg>`;
    }
    case "many-elements.svg": // 20,000 elements
      return `${SVG_OPEN}${Array.from({ length: 20_000 }, (_, i) => `<rect x="${i % 100}" y="${(i * 7) % 100}" width="1" height="1"/>`).join("")}</svg>`;
    default:
      throw new Error(`no generated hostile SVG named ${name}`);
  }
}
