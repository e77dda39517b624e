/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// The callbacks of page.evaluate run in the browser.
/**
 * The search page on the HTTP port: its static files (allowlist, content types, caching, CSP), and
 * the page itself in headless Chromium against a real svgvec with real OpenMoji SVGs over loopback.
 */
import { existsSync, readFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import http from "node:http";
import { join } from "node:path";
import { type Browser, type Page, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { PAGE_CSP, WEB_DIR } from "../../src/http/page.js";
import { REPO_ROOT } from "../../src/models/generate.js";
import { type TestApp, startTestApp } from "../helpers/app.js";
import { type Corpus, startCorpus } from "../helpers/corpus.js";

const CHROMIUM = "/usr/bin/chromium";
const SCREENSHOTS = join(REPO_ROOT, ".cache/test-output/screenshots");
const TOKEN = "page-token-0123456789abcdef";

interface Hit {
  id: string;
  url: string;
  similarity: number;
}

interface Answer {
  status: number;
  headers: Headers;
  body: unknown;
}

/** A svgvec.v1 call over Connect JSON, as the page makes it. */
async function rpc(base: string, method: string, request: object, token?: string): Promise<Answer> {
  const res = await fetch(`${base}/svgvec.v1.SvgVecService/${method}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(request),
  });
  return { status: res.status, headers: res.headers, body: await res.json() };
}

/** A GET whose path reaches the server exactly as written (fetch would normalise dot segments). */
function rawGet(address: string, path: string): Promise<{ status: number; body: string }> {
  const [host, port] = [address.slice(0, address.lastIndexOf(":")), Number(address.slice(address.lastIndexOf(":") + 1))];
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, path, method: "GET" }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  console.log(`screenshot: ${path}`);
}

let corpus: Corpus;
let browser: Browser;
beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: the search page's tests need Debian's Chromium (apt-get install chromium)`);
  }
  [corpus, browser] = await Promise.all([startCorpus(), chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] })]);
});
afterAll(async () => {
  await browser?.close();
  await corpus?.close();
});

interface OpenPage {
  page: Page;
  /** Uncaught errors and CSP reports of the page: the page's own work must cause none. */
  problems: string[];
}

async function openPage(base: string, path = "/"): Promise<OpenPage> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
  await page.exposeFunction("reportViolation", (directive: string, blocked: string) => problems.push(`CSP refused ${blocked} (${directive})`));
  await page.addInitScript(() => {
    const report = (window as unknown as { reportViolation(directive: string, blocked: string): void }).reportViolation;
    document.addEventListener("securitypolicyviolation", (e) => report(e.violatedDirective, e.blockedURI));
  });
  await page.goto(`${base}${path}`);
  return { page, problems };
}

/** Ids and similarities of the result cards, in page order. */
function cards(page: Page): Promise<Array<{ id: string; similarity: number; src: string; loaded: boolean }>> {
  return page.locator("#results .card").evaluateAll((items) =>
    items.map((item) => {
      const img = item.querySelector("img");
      return {
        id: (item as HTMLElement).dataset.id ?? "",
        similarity: Number((item as HTMLElement).dataset.similarity),
        src: img?.src ?? "",
        loaded: img !== null && img.complete && img.naturalWidth > 0,
      };
    }),
  );
}

async function searchFor(page: Page, text: string): Promise<void> {
  await page.locator("#search-input").fill(text);
  await page.locator("#search-input").press("Enter");
  await page.locator("#search-message").filter({ hasText: /best match/ }).waitFor();
}

/** Until every result card's image has loaded (or failed, which the caller's check then shows). */
async function imagesSettled(page: Page): Promise<void> {
  await page.waitForFunction(() => [...document.querySelectorAll<HTMLImageElement>("#results img")].every((img) => img.complete));
}

describe("the page's static files", () => {
  let t: TestApp;
  let base: string;
  beforeAll(async () => {
    t = await startTestApp({ milvusAddress: inject("liteAddress"), env: { SVGVEC_HTTP_LISTEN: "127.0.0.1:0" } });
    base = `http://${t.app.httpAddress}`;
  });
  afterAll(() => t?.close());

  it("serves each file of the allowlist with its content type, the CSP, an ETag and no-cache", async () => {
    const expected: Array<[string, string, string]> = [
      ["/", "index.html", "text/html; charset=utf-8"],
      ["/page.js", "page.js", "text/javascript; charset=utf-8"],
      ["/page.css", "page.css", "text/css; charset=utf-8"],
      ["/favicon.svg", "favicon.svg", "image/svg+xml"],
    ];
    for (const [path, file, type] of expected) {
      const res = await fetch(`${base}${path}`);
      expect(res.status, path).toBe(200);
      expect(res.headers.get("content-type"), path).toBe(type);
      expect(res.headers.get("content-security-policy"), path).toBe(PAGE_CSP);
      expect(res.headers.get("x-content-type-options"), path).toBe("nosniff");
      expect(res.headers.get("cache-control"), path).toBe("no-cache");
      expect(res.headers.get("etag"), path).toMatch(/^"[\w-]{27}"$/);
      expect(Buffer.from(await res.arrayBuffer()).equals(readFileSync(join(WEB_DIR, file))), path).toBe(true);
    }
  });

  it("answers a matching If-None-Match with 304 and no body, HEAD without a body, and refuses other methods", async () => {
    const first = await fetch(`${base}/page.js`);
    const etag = first.headers.get("etag") ?? "";
    const again = await fetch(`${base}/page.js`, { headers: { "if-none-match": `W/${etag}, "other"` } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe("");
    expect((await fetch(`${base}/page.js`, { headers: { "if-none-match": '"stale"' } })).status).toBe(200);

    const head = await fetch(`${base}/`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(Number(head.headers.get("content-length"))).toBe(readFileSync(join(WEB_DIR, "index.html")).length);
    expect(await head.text()).toBe("");

    for (const method of ["POST", "PUT", "DELETE"]) {
      const res = await fetch(`${base}/`, { method });
      expect(res.status, method).toBe(405);
      expect(res.headers.get("allow")).toBe("GET, HEAD");
    }
  });

  it("serves nothing outside the allowlist, however the path is spelt", async () => {
    const paths = [
      "/index.html",
      "/web/page.js",
      "/../package.json",
      "/%2e%2e/package.json",
      "/..%2fpackage.json",
      "/..%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
      "/page.js/../../package.json",
      "/./page.js/..%2f..%2fpackage.json",
      "//etc/passwd",
      "/%2Fetc%2Fpasswd",
      "/page.js%00.css",
      "/PAGE.JS",
      "/tsconfig.web.json",
      "/src/app.ts",
    ];
    const answers: Record<string, string> = {};
    for (const path of paths) {
      const res = await rawGet(t.app.httpAddress, path);
      answers[path] = `${res.status} ${res.body.includes('"code":"not_found"') ? "not_found" : res.body.slice(0, 40)}`;
    }
    expect(answers).toEqual(Object.fromEntries(paths.map((p) => [p, "404 not_found"])));
  });
});

describe("the search page in Chromium", () => {
  let t: TestApp;
  let base: string;
  beforeAll(async () => {
    t = await startTestApp({ milvusAddress: inject("liteAddress"), env: { SVGVEC_HTTP_LISTEN: "127.0.0.1:0" } });
    base = `http://${t.app.httpAddress}`;
  });
  afterAll(() => t?.close());

  it("shows the matches of a query as cards, best first, with the Search RPC's ids and similarities, and the stats line", async () => {
    const hexcodes = ["1F436", "1F431", "2764", "1F34E", "1F697", "2B07", "1F333"];
    for (const [i, hex] of hexcodes.entries()) await t.client.addImage({ id: BigInt(101 + i), url: corpus.openmoji(hex) });

    const { page, problems } = await openPage(base);
    await page.locator("#stats").filter({ hasText: /images/ }).waitFor();
    const stats = (await rpc(base, "Stats", {})).body as { totalImages: string; model: { name: string }; milvus: { deployment: string } };
    const line = (await page.locator("#stats").textContent()) ?? "";
    expect(line).toContain(`${stats.totalImages} images`);
    expect(line).toContain(`model ${stats.model.name}`);
    // The test app is pointed at the shared Milvus Lite by address, so it cannot tell which kind it is.
    expect(stats.milvus.deployment).toBe("MILVUS_DEPLOYMENT_UNSPECIFIED");
    expect(line).toContain("Milvus (deployment unknown)");

    await searchFor(page, "a dog");
    await imagesSettled(page);
    const shown = await cards(page);
    const { hits } = (await rpc(base, "Search", { text: "a dog", k: 24 })).body as { hits: Hit[] };
    expect(hits.length).toBe(hexcodes.length);
    expect(shown.map((c) => c.id)).toEqual(hits.map((h) => h.id));
    expect(shown.map((c) => c.similarity)).toEqual(hits.map((h) => h.similarity));
    expect(shown.map((c) => c.src)).toEqual(hits.map((h) => h.url));
    const sims = shown.map((c) => c.similarity);
    expect(sims).toEqual([...sims].sort((a, b) => b - a));
    expect(shown.every((c) => c.loaded), "every card shows its SVG").toBe(true);
    // The visible caption is the id and the similarity.
    const first = page.locator("#results .card").first();
    expect(await first.locator(".id").textContent()).toBe(`#${hits[0]?.id}`);
    expect(await first.locator(".similarity").textContent()).toBe(hits[0]?.similarity.toFixed(3));

    await screenshot(page, "search-results");

    // "Similar" on a card searches with that record's stored vector, leaving the record out.
    const like = hits[0]!.id;
    await first.locator("button.like").click();
    await page.locator("#search-message").filter({ hasText: `most like #${like}` }).waitFor();
    await imagesSettled(page);
    const similar = await cards(page);
    const byId = (await rpc(base, "Search", { likeId: like, k: 24 })).body as { hits: Hit[] };
    expect(similar.map((c) => c.id)).toEqual(byId.hits.map((h) => h.id));
    expect(similar.map((c) => c.id)).not.toContain(like);
    expect(similar.length).toBe(hexcodes.length - 1);
    const likeSims = similar.map((c) => c.similarity);
    expect(likeSims).toEqual([...likeSims].sort((a, b) => b - a));
    expect(new URL(page.url()).searchParams.get("like")).toBe(like);
    await screenshot(page, "similar");
    // Back returns to the words searched before.
    await page.goBack();
    await page.locator("#search-message").filter({ hasText: /best matches/ }).waitFor();
    expect((await cards(page)).map((c) => c.id)).toEqual(hits.map((h) => h.id));
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it("adds an image through the form, which a search then finds", async () => {
    const { page, problems } = await openPage(base);
    const url = corpus.openmoji("1F355");
    await page.locator("#add-id").fill("555");
    await page.locator("#add-url").fill(url);
    await page.locator("#add-form button").click();
    await page.locator("#add-message").filter({ hasText: "#555" }).waitFor();
    expect(await page.locator("#add-message").textContent()).toBe("Added image #555");

    await searchFor(page, "pizza");
    await imagesSettled(page);
    const found = (await cards(page)).find((c) => c.id === "555");
    expect(found).toMatchObject({ src: url, loaded: true });
    const stored = (await rpc(base, "Search", { text: "pizza", k: 24 })).body as { hits: Hit[] };
    expect(stored.hits.find((h) => h.id === "555")?.similarity).toBe(found?.similarity);
    expect(page.url()).toBe(`${base}/?q=pizza`);

    await screenshot(page, "add-then-search");
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it("shows the server's error message for a bad URL", async () => {
    const { page, problems } = await openPage(base);
    const message = page.locator("#add-message");
    for (const [i, url] of [`${corpus.base}/status/404`, "ftp://example.com/dog.svg", "not a url"].entries()) {
      const id = String(600 + i);
      const server = await rpc(base, "AddImage", { id, url });
      expect(server.status, url).toBeGreaterThanOrEqual(400);
      const { message: expected } = server.body as { message: string };
      expect(expected.length, url).toBeGreaterThan(0);

      await page.locator("#add-id").fill(id);
      await page.locator("#add-url").fill(url);
      await page.locator("#add-form button").click();
      await message.filter({ hasText: expected }).waitFor();
      expect(await message.textContent(), url).toBe(expected);
      expect(await message.getAttribute("class"), url).toContain("error");
    }
    await screenshot(page, "bad-url");
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it("never runs a script inside a shown SVG", async () => {
    // The hostile scripts.svg requests /canary/ paths of the corpus from a <script>, an onload
    // handler, a javascript: link and an iframe: any of them running shows in the corpus's log.
    const url = corpus.hostile("scripts.svg");
    await t.client.addImage({ id: 777n, url });
    const { page, problems } = await openPage(base);
    await searchFor(page, "blue square");
    await imagesSettled(page);
    // Clicking the image is what would follow its javascript: link if it were live.
    await page.locator('#results .card[data-id="777"]').click();
    // The page and its images load a second time: by then any script of the first load has fired.
    await page.reload();
    await page.locator('#results .card[data-id="777"]').waitFor();
    await imagesSettled(page);
    expect(corpus.requests.filter((r) => r.path.startsWith("/canary/"))).toEqual([]);

    // It was shown, as an image.
    expect(corpus.requests.filter((r) => r.path === "/hostile/scripts.svg").length).toBeGreaterThanOrEqual(2);
    const shown = (await cards(page)).find((c) => c.id === "777");
    expect(shown).toMatchObject({ src: url, loaded: true });
    expect(await page.locator("#results svg, #results object, #results iframe, #results embed").count()).toBe(0);

    await screenshot(page, "script-svg");
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it("sends its CSP and refuses inline scripts", async () => {
    const { page, problems } = await openPage(base);
    const response = await page.reload();
    expect(response?.headers()["content-security-policy"]).toBe(PAGE_CSP);

    // An inline <script> and an inline event handler each either run or are refused; either way they settle.
    const outcomes = await page.evaluate(
      () =>
        new Promise<string[]>((resolve) => {
          const seen: string[] = [];
          const settle = (outcome: string): void => {
            seen.push(outcome);
            if (seen.length === 2) resolve(seen.sort());
          };
          Object.assign(window, { settleInline: settle });
          document.addEventListener("securitypolicyviolation", (e) => settle(`refused by ${e.violatedDirective}`));
          const script = document.createElement("script");
          script.textContent = "settleInline('inline script ran')";
          document.body.append(script);
          const img = document.createElement("img");
          img.setAttribute("src", "http://127.0.0.1:9/none.png");
          img.setAttribute("onerror", "settleInline('inline handler ran')");
          document.body.append(img);
        }),
    );
    expect(outcomes).toEqual(["refused by script-src-attr", "refused by script-src-elem"]);
    // The same reports reach the other tests' pages, whose own work must cause none.
    expect(problems.sort()).toEqual(["CSP refused inline (script-src-attr)", "CSP refused inline (script-src-elem)"]);

    for (const directive of [
      "default-src 'none'",
      "script-src 'self'",
      "style-src 'self'",
      "connect-src 'self'",
      "img-src http: https:",
      "form-action 'self'",
      "base-uri 'none'",
      "frame-ancestors 'none'",
    ]) {
      expect(PAGE_CSP.split("; ")).toContain(directive);
    }

    await screenshot(page, "csp");
    await page.context().close();
  });
});

describe("the search page with SVGVEC_AUTH_TOKENS", () => {
  let t: TestApp;
  let base: string;
  beforeAll(async () => {
    t = await startTestApp({
      milvusAddress: inject("liteAddress"),
      env: { SVGVEC_HTTP_LISTEN: "127.0.0.1:0", SVGVEC_AUTH_TOKENS: TOKEN },
      client: { token: TOKEN },
    });
    base = `http://${t.app.httpAddress}`;
  });
  afterAll(() => t?.close());

  it("serves its files without a token, asks for one on a 401, keeps it in sessionStorage and sends it", async () => {
    for (const path of ["/", "/page.js", "/page.css", "/favicon.svg"]) expect((await fetch(`${base}${path}`)).status, path).toBe(200);
    const refused = await rpc(base, "Stats", {});
    expect(refused.status).toBe(401);
    await t.client.addImage({ id: 9n, url: corpus.openmoji("1F436") });

    await t.client.addImage({ id: 10n, url: corpus.openmoji("1F431") });
    // Opened on a search by image: once the token is given, that search runs.
    const { page, problems } = await openPage(base, "/?like=10");
    const form = page.locator("#token-form");
    await form.waitFor({ state: "visible" });
    expect(await page.locator("#token-message").textContent()).toBe((refused.body as { message: string }).message);

    // A wrong token is refused, forgotten, and the field asked for again.
    await page.locator("#token-input").fill("wrong-token-0123456789abcdef");
    await page.locator("#token-input").press("Enter");
    await page.locator("#stats").filter({ hasText: /unavailable/ }).waitFor();
    await form.waitFor({ state: "visible" });
    expect(await page.evaluate(() => sessionStorage.getItem("svgvec.token"))).toBeNull();

    const statsCall = page.waitForRequest((r) => r.url().endsWith("/Stats"));
    await page.locator("#token-input").fill(TOKEN);
    await page.locator("#token-input").press("Enter");
    expect((await statsCall).headers().authorization).toBe(`Bearer ${TOKEN}`);
    await page.locator("#stats").filter({ hasText: "2 images" }).waitFor();
    expect(await form.isHidden()).toBe(true);
    expect(await page.evaluate(() => sessionStorage.getItem("svgvec.token"))).toBe(TOKEN);
    await page.locator("#search-message").filter({ hasText: "1 image most like #10" }).waitFor();
    expect((await cards(page)).map((c) => c.id)).toEqual(["9"]);

    // The token outlives a reload of the tab.
    await page.reload();
    await searchFor(page, "dog");
    expect((await cards(page)).map((c) => c.id).sort()).toEqual(["10", "9"]);
    expect(await form.isHidden()).toBe(true);

    await screenshot(page, "token");
    expect(problems).toEqual([]);
    await page.context().close();
  });
});
