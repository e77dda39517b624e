/**
 * A loopback HTTP server for SVGs: the real OpenMoji corpus from npm, the
 * hand-written edge cases in test/fixtures/svg, and routes that misbehave
 * (redirects, errors, slow and oversized bodies, compression).
 */
import { readFileSync, readdirSync } from "node:fs";
import { readFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { REPO_ROOT } from "../../src/models/generate.js";
import { hostileSvg } from "./hostile.js";

export const OPENMOJI_DIR = join(REPO_ROOT, "node_modules/openmoji/color/svg");
export const FIXTURES_DIR = join(REPO_ROOT, "test/fixtures/svg");

export interface OpenMoji {
  hexcode: string;
  annotation: string;
  tags: string;
}

/** OpenMoji's catalogue (name and tags of every emoji). */
export function openmojiCatalogue(): OpenMoji[] {
  const all = JSON.parse(readFileSync(join(REPO_ROOT, "node_modules/openmoji/data/openmoji.json"), "utf8")) as OpenMoji[];
  const files = new Set(readdirSync(OPENMOJI_DIR));
  return all.filter((e) => files.has(`${e.hexcode}.svg`));
}

export interface Corpus {
  base: string;
  /** URL of an OpenMoji SVG by hexcode, e.g. 1F436 (dog face). */
  openmoji(hexcode: string): string;
  /** URL of a hostile case (see hostile.ts). */
  hostile(name: string): string;
  /** URL of a file in test/fixtures/svg. */
  fixture(name: string): string;
  /**
   * Serves body at the returned URL from now on, replacing what that name served before, so a
   * test can change a file between adds of its URL. With together, requests are held until that
   * many have come, then answered at once, so that several downloaders go on in step.
   */
  serve(name: string, body: Buffer, opts?: { together?: number }): string;
  /** Paths requested so far, with their Range header. */
  requests: Array<{ path: string; range?: string }>;
  /** Connections to /slow that the client has not closed yet. */
  openSlow(): number;
  close(): Promise<void>;
}

export async function startCorpus(): Promise<Corpus> {
  const requests: Corpus["requests"] = [];
  const slow = { open: 0 };
  const served = new Map<string, Served>();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    requests.push({ path: url.pathname, ...(req.headers.range ? { range: req.headers.range } : {}) });
    route(url, req, res, slow, served).catch((e: unknown) => {
      res.statusCode = 500;
      res.end(String(e));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    openmoji: (hex) => `${base}/openmoji/${hex}.svg`,
    fixture: (name) => `${base}/fixtures/${name}`,
    hostile: (name) => `${base}/hostile/${name}`,
    serve: (name, body, opts) => {
      served.set(safe(name), { body, together: opts?.together ?? 1, waiting: [] });
      return `${base}/served/${name}`;
    },
    requests,
    openSlow: () => slow.open,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

async function route(
  url: URL,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  slow: { open: number },
  served: ReadonlyMap<string, Served>,
): Promise<void> {
  const [, kind, ...rest] = url.pathname.split("/");
  const name = rest.join("/");
  const svg = (body: Buffer, headers: Record<string, string> = {}) => {
    res.writeHead(200, { "content-type": "image/svg+xml", "content-length": String(body.length), ...headers });
    res.end(body);
  };
  switch (kind) {
    case "openmoji":
      return svg(await readFile(join(OPENMOJI_DIR, safe(name))));
    case "fixtures":
      return svg(await readFile(join(FIXTURES_DIR, safe(name))));
    case "hostile": // test/fixtures/hostile, placeholders filled in (see hostile.ts)
      return svg(hostileSvg(safe(name), `http://${req.headers.host ?? "127.0.0.1"}`));
    case "gzip-encoded": // gzip content-encoding of a fixture
      return svg(gzipSync(await readFile(join(FIXTURES_DIR, safe(name)))), { "content-encoding": "gzip" });
    case "svgz": // a .svgz file: the body itself is gzip
      return svg(gzipSync(await readFile(join(FIXTURES_DIR, safe(name).replace(/\.svgz$/, ".svg")))));
    case "svgz-bomb": // /svgz-bomb/N: a small gzip body that inflates to an N-byte SVG
    case "gzip-bomb": {
      const n = Number(name);
      const inflated = Buffer.concat([Buffer.from('<svg xmlns="http://www.w3.org/2000/svg">'), Buffer.alloc(n, 0x20), Buffer.from("</svg>")]);
      return svg(gzipSync(inflated), kind === "gzip-bomb" ? { "content-encoding": "gzip" } : {});
    }
    case "redirect": {
      // /redirect/N/<path>: N more hops, then <path>
      const [n, ...target] = name.split("/");
      const left = Number(n);
      res.writeHead(302, { location: left > 1 ? `/redirect/${left - 1}/${target.join("/")}` : `/${target.join("/")}` });
      return void res.end();
    }
    case "location": // /location?to=URL: one redirect to any URL
      res.writeHead(302, { location: url.searchParams.get("to") ?? "/" });
      return void res.end();
    case "status":
      res.writeHead(Number(name));
      return void res.end("no");
    case "bytes": {
      // /bytes/N: an N-byte SVG, streamed without content-length
      const n = Number(name);
      res.writeHead(200, { "content-type": "image/svg+xml" });
      const head = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><!--';
      res.write(head);
      let sent = head.length;
      const chunk = "x".repeat(65536);
      const pump = () => {
        while (sent < n - 4) {
          const part = chunk.slice(0, Math.min(chunk.length, n - 4 - sent));
          sent += part.length;
          if (!res.write(part)) return void res.once("drain", pump);
        }
        res.end("--/>");
      };
      req.on("close", () => res.destroy());
      return pump();
    }
    case "served": { // /served/NAME: whatever the test last gave serve() under NAME
      const file = served.get(safe(name));
      if (file === undefined) {
        res.writeHead(404);
        return void res.end();
      }
      file.waiting.push(() => svg(file.body, { "cache-control": "no-store" }));
      if (file.waiting.length >= file.together) for (const answer of file.waiting.splice(0)) answer();
      return;
    }
    case "slow-render": // /slow-render/N: an SVG that renders for seconds, made unique by N so no two share an embedding
      return svg(Buffer.concat([hostileSvg("slow-filters.svg", "http://127.0.0.1:9"), Buffer.from(`<!-- ${safe(name)} -->`)]));
    case "slow": // headers at once, the body never
      slow.open++;
      res.on("close", () => slow.open--);
      res.writeHead(200, { "content-type": "image/svg+xml" });
      res.write("<svg");
      return;
    default:
      res.writeHead(404);
      res.end();
  }
}

interface Served {
  body: Buffer;
  together: number;
  /** Held requests' answers. */
  waiting: Array<() => void>;
}

function safe(name: string): string {
  if (name.includes("..") || name.startsWith("/")) throw new Error(`bad path ${name}`);
  return name;
}
