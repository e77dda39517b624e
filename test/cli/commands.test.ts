/**
 * The client commands of the built `svgvec` bin (add, search, list, stats, rm,
 * demo), run as child processes against a real server, with their output
 * formats and exit codes (0 success, 1 failure, 2 usage).
 */
import { readFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type TestApp, startTestApp } from "../helpers/app.js";
import { jsonLines, svgvec } from "../helpers/cli-run.js";
import { type Corpus, startCorpus } from "../helpers/corpus.js";
import { type TestCertificate, makeCertificate } from "../helpers/tls.js";

const TOKEN = "cli-token-0123456789abcdef";

let corpus: Corpus;
beforeAll(async () => {
  corpus = await startCorpus();
});
afterAll(() => corpus.close());

describe("svgvec client commands", () => {
  let t: TestApp;
  let env: Record<string, string>;
  const ids = async (): Promise<string[]> => jsonLines(await svgvec(["list", "--json"], { env })).map((r) => String(r.id));

  beforeAll(async () => {
    t = await startTestApp({ milvusAddress: inject("liteAddress") });
    env = { SVGVEC_ADDRESS: t.app.address };
  });
  afterAll(() => t.close());

  it("add: stores an image and says added, unchanged or replaced", async () => {
    const added = await svgvec(["add", "101", corpus.openmoji("1F436")], { env });
    expect(added).toMatchObject({ code: 0, stdout: `added 101 ${corpus.openmoji("1F436")}\n` });
    expect((await svgvec(["add", "101", corpus.openmoji("1F436")], { env })).stdout).toBe(`unchanged 101 ${corpus.openmoji("1F436")}\n`);
    const replaced = await svgvec(["add", "101", corpus.openmoji("1F431"), "--json"], { env });
    expect(replaced.code).toBe(0);
    expect(jsonLines(replaced)[0]).toMatchObject({ id: "101", url: corpus.openmoji("1F431"), outcome: "replaced" });
    // A negative id is an id, not an option; the address can also come from --address.
    expect(await svgvec(["add", "-1", corpus.openmoji("1F436"), "--address", t.app.address])).toMatchObject({ code: 0 });
    expect(await ids()).toEqual(["-1", "101"]);
  });

  it("add: a refused image exits 1 with the server's reason on one line", async () => {
    const run = await svgvec(["add", "7", `${corpus.base}/status/404`], { env });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^svgvec add: .*404.*\(FAILED_PRECONDITION\)\n$/);
  });

  it("search: a ranked table, or JSON with exact ids", async () => {
    await svgvec(["add", "9007199254740993", corpus.openmoji("1F431")], { env });
    const table = await svgvec(["search", "a", "dog", "-k", "2"], { env });
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^RANK\s+SIMILARITY\s+ID\s+URL$/);
    expect(lines).toHaveLength(3);
    const json = jsonLines(await svgvec(["search", "dog", "-k", "10", "--json"], { env }))[0] as { text: string; hits: Array<{ id: string }> };
    expect(json.text).toBe("dog");
    expect(json.hits.map((h) => h.id).sort()).toEqual(["-1", "101", "9007199254740993"]);
  });

  it("search: --like ID and --like-url URL search by image, with --include-self, --exclude and --min-similarity", async () => {
    type Found = { like?: string; likeUrl?: string; hits: Array<{ id: string; similarity: number }> };
    const found = async (args: string[]): Promise<Found> => {
      const run = await svgvec(["search", ...args, "--json"], { env });
      expect(run.code, run.stderr).toBe(0);
      return jsonLines(run)[0] as Found;
    };
    // -1 is the only dog; 101 and 9007199254740993 hold the same cat.
    const self = await found(["--like", "-1", "--include-self", "-k", "3"]);
    expect(self.like).toBe("-1");
    expect(self.hits[0]).toMatchObject({ id: "-1" });
    expect(self.hits[0]!.similarity).toBeGreaterThanOrEqual(0.999);
    expect((await found(["--like", "-1"])).hits.map((h) => h.id).sort()).toEqual(["101", "9007199254740993"]);
    expect((await found(["--like", "-1", "--exclude", "101,-5"])).hits.map((h) => h.id)).toEqual(["9007199254740993"]);
    const byUrl = await found(["--like-url", corpus.openmoji("1F436"), "-k", "1"]);
    expect([byUrl.likeUrl, byUrl.hits.map((h) => h.id)]).toEqual([corpus.openmoji("1F436"), ["-1"]]);
    const cat = await found(["--like", "101", "--min-similarity", "0.999"]);
    expect(cat.hits.map((h) => h.id)).toEqual(["9007199254740993"]);
    expect((await svgvec(["search", "--like", "-1", "--min-similarity", "1"], { env })).stdout).toBe("no hits\n");
    // A negative threshold is a number, not an option.
    expect((await found(["--like", "-1", "--min-similarity", "-0.5"])).hits.map((h) => h.id).sort()).toEqual(["101", "9007199254740993"]);
    const missing = await svgvec(["search", "--like", "5"], { env });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^svgvec search: like_id: no stored record has id 5.*\(NOT_FOUND\)\n$/);
  });

  it("list: table, jsonl and csv, with vectors and a limit", async () => {
    const table = await svgvec(["list"], { env });
    expect(table.code).toBe(0);
    const rows = table.stdout.trimEnd().split("\n");
    expect(rows[0]).toMatch(/^\s*ID\s+ADDED_AT\s+UPDATED_AT\s+URL$/);
    expect(rows.slice(1).map((r) => r.trim().split(/\s+/)[0])).toEqual(["-1", "101", "9007199254740993"]);

    const jsonl = jsonLines(await svgvec(["list", "--format", "jsonl", "--vectors", "--limit", "2"], { env }));
    expect(jsonl.map((r) => r.id)).toEqual(["-1", "101"]);
    expect(jsonl[1]).toMatchObject({ url: corpus.openmoji("1F431") });
    expect((jsonl[0]?.vector as number[]).length).toBe(512);
    expect(jsonl[0]?.addedAt).toMatch(/^\d{4}-\d\d-\d\dT/);

    const csv = await svgvec(["list", "--format", "csv"], { env });
    const csvRows = csv.stdout.trimEnd().split("\n");
    expect(csvRows[0]).toBe("id,url,added_at,updated_at");
    expect(csvRows.slice(1).map((r) => r.split(",").slice(0, 2))).toEqual([
      ["-1", corpus.openmoji("1F436")],
      ["101", corpus.openmoji("1F431")],
      ["9007199254740993", corpus.openmoji("1F431")],
    ]);
    const csvVectors = await svgvec(["list", "--format", "csv", "--vectors", "--limit", "1"], { env });
    expect(csvVectors.stdout.split("\n")[1]?.split(",")[4]?.split(" ")).toHaveLength(512);
  });

  it("stats: a table, or the StatsResponse as JSON", async () => {
    const table = await svgvec(["stats"], { env });
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^images\s+3$/m);
    expect(table.stdout).toContain(t.config.milvus.collection);
    const json = jsonLines(await svgvec(["stats", "--json"], { env }))[0];
    expect(json).toMatchObject({ totalImages: "3", collectionName: t.config.milvus.collection, metricType: "IP" });
  });

  it("rm: removes ids, exits 1 naming any that did not exist unless -f", async () => {
    const run = await svgvec(["rm", "-1", "404404"], { env });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("removed -1\nnot found 404404\n");
    expect(run.stderr).toBe("svgvec rm: 1 of 2 ids did not exist: 404404 (-f ignores missing ids)\n");
    const forced = await svgvec(["rm", "-f", "9007199254740993", "404404", "--json"], { env });
    expect(forced.code).toBe(0);
    expect(jsonLines(forced)[0]).toEqual({
      results: [
        { id: "9007199254740993", removed: true },
        { id: "404404", removed: false },
      ],
    });
    expect(await ids()).toEqual(["101"]);
  });

  it("demo: walks through the original demo step by step and leaves its ids removed", async () => {
    const run = await svgvec(["demo", "--dog-url", corpus.openmoji("1F436"), "--cat-url", corpus.openmoji("1F431"), "--id", "5000"], { env });
    expect(run.code, run.stderr).toBe(0);
    for (const step of ["1. health check", "2. stats", "3. add two images", "4. list", '5. search "dog"', "6. batch add through a stream", "7. remove"]) {
      expect(run.stdout).toContain(step);
    }
    expect(run.stdout).toContain("server is SERVING");
    expect(run.stdout).toMatch(/added: id 5000 /);
    expect(run.stdout).toContain("stored 2/2");
    expect(run.stdout).toContain("id 5003: removed");
    expect(run.stdout).toContain("=== demo complete ===");
    expect(await ids()).toEqual(["101"]);

    const json = jsonLines(await svgvec(["demo", "--dog-url", corpus.openmoji("1F436"), "--cat-url", corpus.openmoji("1F431"), "--id", "5000", "--json"], { env }));
    expect(json.map((s) => s.step)).toEqual([1, 2, 3, 4, 5, 6, 7]);

    const broken = await svgvec(["demo", "--dog-url", `${corpus.base}/status/404`, "--id", "5000"], { env });
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/^svgvec demo: step 3 \(add two images\) failed: .*404/);
  });

  it("exits 2 with a message on usage errors, and prints help for every command", async () => {
    const cases: Array<[string[], RegExp]> = [
      [["frobnicate"], /unknown command "frobnicate"/],
      [["add", "1"], /add takes exactly two arguments: ID URL/],
      [["add", "x", "http://a/b.svg"], /"x" is not an id/],
      [["rm"], /rm needs at least one ID/],
      [["rm", "9223372036854775808"], /is not an id: ids are whole numbers from -9223372036854775808 to 9223372036854775807/],
      [["search"], /search needs a TEXT/],
      [["search", "dog", "-k", "0"], /-k must be a whole number from 1 to 16384/],
      [["search", "dog", "--like", "1"], /search takes one of TEXT, --like ID and --like-url URL, not TEXT and --like/],
      [["search", "--like", "1", "--like-url", "http://a/b.svg"], /not --like and --like-url/],
      [["search", "--like", "x"], /"x" is not an id/],
      [["search", "dog", "--include-self"], /--include-self applies only to --like ID/],
      [["search", "dog", "--min-similarity", "1.5"], /--min-similarity must be a number from -1 to 1, not "1.5"/],
      [["search", "dog", "--min-similarity", "NaN"], /--min-similarity must be a number from -1 to 1/],
      [["search", "dog", "--exclude", "1,x"], /"x" is not an id/],
      [["search", "--like", "1", "--like", "2"], /--like is given more than once; give it once/],
      [["list", "--format", "xml"], /--format must be one of table, jsonl, csv/],
      [["list", "--bogus"], /Unknown option '--bogus'/],
      [["stats", "--timeout", "soon"], /--timeout must be a whole number/],
      [["stats", "--address", "localhost"], /has no port/],
      [["import"], /import takes one FILE/],
      [["import", "x.csv", "--stream-size", "5000"], /--stream-size must be a whole number from 1 to 1000/],
      [["demo", "extra"], /demo takes no arguments/],
    ];
    for (const [args, message] of cases) {
      const run = await svgvec(args, { env });
      expect(run.code, args.join(" ")).toBe(2);
      expect(run.stderr, args.join(" ")).toMatch(message);
      expect(run.stdout).toBe("");
    }
    for (const command of ["add", "import", "search", "list", "stats", "rm", "demo"]) {
      const run = await svgvec([command, "--help"]);
      expect(run.code, command).toBe(0);
      expect(run.stdout).toMatch(new RegExp(`^usage: svgvec ${command}`));
      expect(run.stdout).toContain("--address HOST:PORT");
    }
    const top = await svgvec(["--help"]);
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/svgvec import FILE\|-/);
  });
});

describe("svgvec client commands, failing to reach the server", () => {
  it("exits 1 with a one-line reason when nothing listens at the address", async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((r) => server.close(() => r()));
    for (const args of [["stats"], ["add", "1", corpus.openmoji("1F436")], ["list"], ["search", "dog"], ["rm", "1"]]) {
      const run = await svgvec([...args, "--address", `127.0.0.1:${port}`]);
      expect(run.code, args[0]).toBe(1);
      expect(run.stderr).toMatch(new RegExp(`^svgvec ${args[0]}: cannot reach svgvec at 127\\.0\\.0\\.1:${port}: .*ECONNREFUSED.*\\(UNAVAILABLE\\)[^\\n]*\\n$`));
    }
  });
});

describe("svgvec client commands with a token and TLS", () => {
  let cert: TestCertificate;
  let t: TestApp;

  beforeAll(async () => {
    cert = await makeCertificate();
    t = await startTestApp({
      milvusAddress: inject("liteAddress"),
      env: { SVGVEC_AUTH_TOKENS: TOKEN, SVGVEC_TLS_CERT: cert.certFile, SVGVEC_TLS_KEY: cert.keyFile },
    });
  });
  afterAll(() => t.close());

  it("connects with --tls-ca and --token (or SVGVEC_TOKEN), and says what is missing otherwise", async () => {
    const address = t.app.address;
    expect(await svgvec(["stats", "--address", address, "--tls-ca", cert.certFile, "--token", TOKEN])).toMatchObject({ code: 0 });
    expect(await svgvec(["add", "1", corpus.openmoji("1F436"), "--tls-ca", cert.certFile], { env: { SVGVEC_ADDRESS: address, SVGVEC_TOKEN: TOKEN } })).toMatchObject({
      code: 0,
    });
    const anonymous = await svgvec(["stats", "--address", address, "--tls-ca", cert.certFile]);
    expect(anonymous.code).toBe(1);
    expect(anonymous.stderr).toMatch(/^svgvec stats: .*\(UNAUTHENTICATED\): pass --token or set SVGVEC_TOKEN\n$/);
    const untrusted = await svgvec(["stats", "--address", address, "--tls", "--token", TOKEN]);
    expect(untrusted.code).toBe(1);
    expect(untrusted.stderr).toMatch(/certificate/i);
    expect(readFileSync(cert.certFile, "utf8")).toContain("BEGIN CERTIFICATE");
  });
});
