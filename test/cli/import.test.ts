/**
 * `svgvec import`, the built bin as a child process, against a real server:
 * streams of bounded size, failures written in the input's format and
 * importable again, --skip, standard input, and streams sent again when the
 * server goes away in the middle.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type TestApp, startTestApp } from "../helpers/app.js";
import { BIN, type CliRun, jsonLines, svgvec } from "../helpers/cli-run.js";
import { OPENMOJI_DIR, type Corpus, openmojiCatalogue, startCorpus } from "../helpers/corpus.js";
import { waitFor } from "../helpers/wait.js";

interface Summary {
  items: number;
  skipped: number;
  streams: number;
  retries: number;
  sent: number;
  added: number;
  replaced: number;
  unchanged: number;
  failed: number;
  failuresFile: string;
  done: number;
  complete: boolean;
}

/** An SVG server that answers 404 until it is fixed. */
interface Flaky {
  url: string;
  fixed: boolean;
  close(): Promise<void>;
}

async function startFlaky(): Promise<Flaky> {
  const svg = readFileSync(join(OPENMOJI_DIR, "1F98A.svg"));
  const state = { fixed: false };
  const server = http.createServer((_req, res) => {
    if (!state.fixed) return void res.writeHead(404).end("not yet");
    res.writeHead(200, { "content-type": "image/svg+xml" }).end(svg);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/fox.svg`;
  return Object.assign(state, {
    url,
    close: () => new Promise<void>((r) => server.close(() => r())),
  });
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

let corpus: Corpus;
let flaky: Flaky;
let dir: string;
/** 50 OpenMoji URLs, so that items share embeddings and the import is bound by the stream, not the encoder. */
let urls: string[];

beforeAll(async () => {
  corpus = await startCorpus();
  flaky = await startFlaky();
  dir = await mkdtemp(join(tmpdir(), "svgvec-import-"));
  urls = openmojiCatalogue()
    .slice(0, 50)
    .map((e) => corpus.openmoji(e.hexcode));
});
afterAll(async () => {
  await flaky.close();
  await corpus.close();
  await rm(dir, { recursive: true, force: true });
});

const summaryOf = (run: CliRun): Summary => jsonLines(run)[0] as unknown as Summary;

describe("svgvec import", () => {
  let t: TestApp;
  let env: Record<string, string>;
  const storedIds = async (): Promise<string[]> => jsonLines(await svgvec(["list", "--json"], { env })).map((r) => String(r.id));

  beforeAll(async () => {
    t = await startTestApp({ milvusAddress: inject("liteAddress") });
    env = { SVGVEC_ADDRESS: t.app.address };
  });
  afterAll(() => t.close());

  it("imports 1,000 items in streams of 300, writes the 3 bad ones to a file that imports again once fixed", { timeout: 240_000 }, async () => {
    const file = join(dir, "items.csv");
    const lines = ["id,url"];
    for (let i = 0; i < 1000; i++) {
      if (i === 100) lines.push('"broken,');
      else if (i === 200) lines.push(`200,ftp://example.com/a.svg`);
      else if (i === 300) lines.push(`300,${flaky.url}`);
      else lines.push(`${i},${urls[i % urls.length]}`);
    }
    await writeFile(file, `${lines.join("\n")}\n`);

    const run = await svgvec(["import", file, "--stream-size", "300", "--json"], { env });
    expect(run.code, run.stderr).toBe(1);
    const summary = summaryOf(run);
    expect(summary).toMatchObject({ items: 1000, streams: 4, sent: 999, added: 997, replaced: 0, unchanged: 0, failed: 3, done: 1000, complete: true });
    expect(summary.failuresFile).toBe(join(dir, "items.failed.csv"));
    expect(run.stderr.trimEnd().split("\n").pop()).toBe(
      `svgvec import: 3 of 1000 items failed; they are in ${summary.failuresFile}: fix them there and run svgvec import ${summary.failuresFile}`,
    );
    const failures = (await readFile(summary.failuresFile, "utf8")).trimEnd().split("\n");
    expect(failures[0]).toBe("id,url,code,reason,line");
    expect(failures[1]).toMatch(/^,"""broken,",INVALID_ARGUMENT,line 102: not CSV: a quoted field has no closing quote.*,102$/);
    expect(failures[2]).toMatch(/^200,ftp:\/\/example\.com\/a\.svg,INVALID_ARGUMENT,.*scheme.*,202$/);
    expect(failures[3]).toMatch(new RegExp(`^300,${flaky.url.replace(/[.]/g, "\\.")},FAILED_PRECONDITION,.*404.*,302$`));
    expect(failures).toHaveLength(4);
    expect((await t.client.stats()).totalImages).toBe(997n);

    // The server that answered 404 is fixed: the failures file is imported as it is.
    flaky.fixed = true;
    const again = await svgvec(["import", summary.failuresFile, "--json"], { env });
    expect(again.code).toBe(1);
    expect(summaryOf(again)).toMatchObject({ items: 3, streams: 1, added: 1, failed: 2, failuresFile: join(dir, "items.failed.failed.csv") });
    const left = (await readFile(join(dir, "items.failed.failed.csv"), "utf8")).trimEnd().split("\n");
    expect(left.map((l) => l.split(",")[0])).toEqual(["id", "", "200"]);
    expect(await storedIds()).toContain("300");

    // Human output: the counts as a table.
    const table = await svgvec(["import", file, "--stream-size", "1000"], { env });
    expect(table.stdout).toMatch(/^imported .*items\.csv: 1000 items in 1 streams/);
    expect(table.stdout).toMatch(/^unchanged\s+998$/m);
    expect(table.stdout).toMatch(new RegExp(`^failed\\s+2  \\(in ${summary.failuresFile.replace(/[.]/g, "\\.")}\\)$`, "m"));
  });

  it("reads JSON lines from standard input, keeping every digit of an id", async () => {
    const input = [
      `{"id": 9007199254740993, "url": "${corpus.openmoji("1F436")}"}`,
      `{"id": "-9223372036854775808", "url": "${corpus.openmoji("1F431")}"}`,
      "",
      `{"url": "${corpus.openmoji("1F436")}", "id": 9223372036854775807}`,
      `{"id": 12, "url": 5}`,
    ].join("\n");
    const run = await svgvec(["import", "-", "--json"], { env, input, cwd: dir });
    expect(run.code).toBe(1);
    expect(summaryOf(run)).toMatchObject({ items: 4, streams: 1, added: 3, failed: 1, failuresFile: "stdin.failed.jsonl" });
    const ids = await storedIds();
    for (const id of ["9007199254740993", "-9223372036854775808", "9223372036854775807"]) expect(ids).toContain(id);
    expect(ids).not.toContain("9007199254740992");
    expect(await readFile(join(dir, "stdin.failed.jsonl"), "utf8")).toBe(
      `{"id":12,"url":5,"code":"INVALID_ARGUMENT","reason":"line 5: url must be a string","line":5}\n`,
    );
  });

  it("--skip resumes after N items and appends to the failures file", async () => {
    const file = join(dir, "resume.csv");
    const rows = Array.from({ length: 10 }, (_, i) => (i === 8 ? "x9,http://example.com/a.svg" : `${77001 + i},${urls[i]}`));
    await writeFile(file, `id,url\n${rows.join("\n")}\n`);
    const failuresFile = join(dir, "resume.failed.csv");
    await writeFile(failuresFile, "id,url,code,reason,line\n77001,http://earlier,FAILED_PRECONDITION,from the first run,2\n");

    const run = await svgvec(["import", file, "--skip", "7", "--json"], { env });
    expect(run.code).toBe(1);
    expect(summaryOf(run)).toMatchObject({ items: 3, skipped: 7, added: 2, failed: 1, done: 10 });
    const ids = await storedIds();
    expect(ids.filter((id) => id.length === 5 && id.startsWith("770"))).toEqual(["77008", "77010"]);
    const failures = (await readFile(failuresFile, "utf8")).trimEnd().split("\n");
    expect(failures).toHaveLength(3);
    expect(failures[1]).toContain("from the first run");
    expect(failures[2]).toMatch(/^x9,http:\/\/example\.com\/a\.svg,INVALID_ARGUMENT,line 10: id x9 is not .*,10$/);
  });

  it("refuses a CSV without its header, saying what it needs", async () => {
    const file = join(dir, "headless.csv");
    await writeFile(file, `1,${urls[0]}\n`);
    const run = await svgvec(["import", file], { env });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^svgvec import: .*headless\.csv: line 1 must be a CSV header naming the columns id and url/);
  });

  it("on Ctrl-C while standard input is slow, says which --skip resumes it, and that resume stores the rest", { timeout: 120_000 }, async () => {
    const line = (i: number) => `{"id": ${76001 + i}, "url": "${urls[i]}"}\n`;
    const child = spawn("node", [BIN, "import", "-", "--stream-size", "2", "--json"], { cwd: dir, env: { ...process.env, ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((r) => child.once("close", r));
    try {
      for (let i = 0; i < 4; i++) child.stdin.write(line(i));
      await waitFor(async () => (await storedIds()).filter((id) => id.startsWith("7600")).length === 4, 60_000);
      // The producer has more to say but is slow: the importer waits on it when the user gives up.
      child.kill("SIGINT");
      expect(await exited, stderr).toBe(1);
      const summary = jsonLines({ code: 1, stdout, stderr })[0] as unknown as Summary;
      expect(summary).toMatchObject({ complete: false, failed: 0 });
      expect(summary.done).toBeGreaterThanOrEqual(2);
      expect(stderr).toContain(`import stopped: interrupted by SIGINT. The first ${summary.done} items are done; to resume, send the same input again with --skip ${summary.done}`);
    } finally {
      child.kill("SIGKILL");
    }
    const done = (jsonLines({ code: 1, stdout, stderr })[0] as unknown as Summary).done;
    const resumed = await svgvec(["import", "-", "--skip", String(done), "--json"], { env, cwd: dir, input: [0, 1, 2, 3, 4].map(line).join("") });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(summaryOf(resumed)).toMatchObject({ items: 5 - done, complete: true, failed: 0, done: 5 });
    expect((await storedIds()).filter((id) => id.startsWith("7600"))).toEqual(["76001", "76002", "76003", "76004", "76005"]);
  });
});

describe("svgvec import across a server restart", () => {
  it("sends the streams in flight again when the server goes away, and stores every item", { timeout: 180_000 }, async () => {
    const port = await freePort();
    const listen = { SVGVEC_LISTEN: `127.0.0.1:${port}` };
    let t = await startTestApp({ milvusAddress: inject("liteAddress"), env: listen });
    const collection = t.config.milvus.collection;
    try {
      const file = join(dir, "restart.csv");
      const rows = Array.from({ length: 1000 }, (_, i) => `${9001 + i},${urls[i % urls.length]}`);
      await writeFile(file, `id,url\n${rows.join("\n")}\n`);
      // Left by an earlier run: a run in which nothing fails removes it, as its items are stored now.
      await writeFile(join(dir, "restart.failed.csv"), "id,url,code,reason,line\n9001,x,UNAVAILABLE,earlier,2\n");
      const before = corpus.requests.length;
      const running = svgvec(["import", file, "--stream-size", "100", "--json"], { env: { SVGVEC_ADDRESS: `127.0.0.1:${port}` } });
      await waitFor(() => corpus.requests.length - before >= 60, 60_000);
      // No grace: the streams in flight are cut off, as by a crash.
      await t.app.close(0);
      t.client.close();
      t = await startTestApp({ milvusAddress: inject("liteAddress"), collection, env: listen });

      const run = await running;
      expect(run.code, run.stderr).toBe(0);
      const summary = summaryOf(run);
      expect(summary).toMatchObject({ items: 1000, sent: 1000, failed: 0, complete: true, done: 1000 });
      expect(summary.retries).toBeGreaterThanOrEqual(1);
      expect(summary.added + summary.replaced + summary.unchanged).toBe(1000);
      expect(run.stderr).toMatch(/stream \d+ failed \([A-Z_]+: .*\); sending its \d+ items again/);
      expect((await t.client.stats()).totalImages).toBe(1000n);
      expect(existsSync(join(dir, "restart.failed.csv"))).toBe(false);
    } finally {
      await t.close();
    }
  });

  it("sends again an item that standard input delivered while its stream was down", { timeout: 180_000 }, async () => {
    const port = await freePort();
    const listen = { SVGVEC_LISTEN: `127.0.0.1:${port}` };
    let t = await startTestApp({ milvusAddress: inject("liteAddress"), env: listen });
    const collection = t.config.milvus.collection;
    const line = (i: number) => `{"id": ${8001 + i}, "url": "${urls[i]}"}\n`;
    const child = spawn("node", [BIN, "import", "-", "--json"], { cwd: dir, env: { ...process.env, SVGVEC_ADDRESS: `127.0.0.1:${port}` } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((r) => child.once("close", r));
    try {
      const before = corpus.requests.length;
      for (let i = 0; i < 5; i++) child.stdin.write(line(i));
      await waitFor(() => corpus.requests.length - before >= 5, 60_000);
      // The stream is cut while the importer waits for the next line; every try that follows reads on.
      await t.app.close(0);
      t.client.close();
      await waitFor(() => stderr.includes("stream 1 failed"), 30_000);
      t = await startTestApp({ milvusAddress: inject("liteAddress"), collection, env: listen });
      for (let i = 5; i < 10; i++) child.stdin.write(line(i));
      child.stdin.end();
      expect(await exited, stderr).toBe(0);
      expect(jsonLines({ code: 0, stdout, stderr })[0]).toMatchObject({ items: 10, sent: 10, failed: 0, complete: true });
      const stored: string[] = [];
      for await (const page of t.client.listImages({})) stored.push(...page.images.map((i) => i.id.toString()));
      expect(stored).toEqual(Array.from({ length: 10 }, (_, i) => String(8001 + i)));
    } finally {
      child.kill();
      await t.close();
    }
  });
});
