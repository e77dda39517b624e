import { readdirSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FetchConfig } from "../../src/config.js";
import { FetchError, type FetchFailureReason } from "../../src/errors.js";
import { type HostResolver, addressRange, fetchSvg } from "../../src/fetch/fetch.js";
import { createHostResolver } from "../../src/fetch/resolve.js";
import { registry } from "../../src/metrics/metrics.js";
import { type Corpus, startCorpus } from "../helpers/corpus.js";
import { type Sample, parseMetrics, total } from "../helpers/prometheus.js";
import { startSilentDns } from "../helpers/silent-dns.js";
import { waitFor } from "../helpers/wait.js";

const allow: FetchConfig = { allowPrivateAddresses: true, allowCidrs: [], maxBytes: 1024 * 1024, timeoutMs: 5_000, maxRedirects: 3 };

describe("fetchSvg", () => {
  let corpus: Corpus;
  beforeAll(async () => {
    corpus = await startCorpus();
  });
  afterAll(() => corpus.close());

  const failure = (url: string, cfg: FetchConfig = allow) => fetchSvg(url, cfg).then(() => undefined, (e: unknown) => e as FetchError);

  it("downloads an SVG", async () => {
    const file = await fetchSvg(corpus.openmoji("1F436"), allow);
    expect(file.bytes.toString("utf8")).toContain("<svg");
    expect(file.contentType).toBe("image/svg+xml");
  });

  it("refuses loopback unless private addresses are allowed, and says how to allow them", async () => {
    const err = await failure(corpus.openmoji("1F436"), { ...allow, allowPrivateAddresses: false });
    expect(err).toBeInstanceOf(FetchError);
    expect(err?.refused).toBe(true);
    expect(err?.message).toMatch(/127\.0\.0\.1 \(loopback\).*SVGVEC_FETCH_ALLOW_PRIVATE=true/);
  });

  it("refuses hosts that resolve to loopback", async () => {
    const err = await failure(corpus.openmoji("1F436").replace("127.0.0.1", "localhost"), { ...allow, allowPrivateAddresses: false });
    expect(err?.refused).toBe(true);
    expect(err?.message).toMatch(/does not resolve to a public address/);
    expect(err?.message).not.toMatch(/127\.0\.0\.1|::1|loopback/);
  });

  it.each(["file:///etc/passwd", "ftp://example.com/a.svg", "data:image/svg+xml,<svg/>", "gopher://x/"])("refuses %s", async (url) => {
    const err = await failure(url);
    expect(err?.refused).toBe(true);
    expect(err?.message).toMatch(/not allowed; use http or https/);
  });

  it("follows redirects up to the limit and no further", async () => {
    const ok = await fetchSvg(`${corpus.base}/redirect/3/openmoji/1F436.svg`, allow);
    expect(ok.finalUrl).toBe(corpus.openmoji("1F436"));
    const err = await failure(`${corpus.base}/redirect/4/openmoji/1F436.svg`);
    expect(err?.message).toMatch(/redirected more than 3 times/);
  });

  it("checks every redirect target, not only the first URL", async () => {
    const err = await failure(`${corpus.base}/location?to=${encodeURIComponent("file:///etc/passwd")}`);
    expect(err?.refused).toBe(true);
    expect(err?.message).toMatch(/file: URLs are not allowed/);
  });

  it("reports HTTP errors", async () => {
    expect((await failure(`${corpus.base}/status/404`))?.message).toMatch(/HTTP 404/);
    expect((await failure(`${corpus.base}/status/500`))?.message).toMatch(/HTTP 500/);
  });

  it("stops a body larger than the limit while streaming it", async () => {
    const err = await failure(`${corpus.base}/bytes/5000000`, { ...allow, maxBytes: 100_000 });
    expect(err?.message).toMatch(/larger than the 100000-byte limit/);
    expect((await fetchSvg(`${corpus.base}/bytes/90000`, { ...allow, maxBytes: 100_000 })).bytes.length).toBe(90_000);
  });

  it("refuses a declared content-length over the limit before reading", async () => {
    const err = await failure(corpus.openmoji("1F436"), { ...allow, maxBytes: 1024 });
    expect(err?.message).toMatch(/over the 1024-byte limit/);
  });

  it("gives up on a server that stalls", async () => {
    const started = Date.now();
    const err = await failure(`${corpus.base}/slow`, { ...allow, timeoutMs: 300 });
    expect(err?.message).toMatch(/longer than 300 ms/);
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it("undoes gzip content-encoding and SVGZ files", async () => {
    const plain = (await fetchSvg(corpus.fixture("wide-red.svg"), allow)).bytes;
    expect((await fetchSvg(`${corpus.base}/gzip-encoded/wide-red.svg`, allow)).bytes).toEqual(plain);
    expect((await fetchSvg(`${corpus.base}/svgz/wide-red.svgz`, allow)).bytes).toEqual(plain);
  });

  it("caps the decompressed size of SVGZ files and gzip-encoded bodies (zip bombs)", async () => {
    const cfg = { ...allow, maxBytes: 1_000_000 };
    // 50 MB of SVG in about 50 KB of gzip.
    expect((await failure(`${corpus.base}/svgz-bomb/50000000`, cfg))?.message).toMatch(/decompresses to more than the 1000000-byte limit/);
    expect((await failure(`${corpus.base}/gzip-bomb/50000000`, cfg))?.message).toMatch(/larger than the 1000000-byte limit/);
    expect((await fetchSvg(`${corpus.base}/svgz-bomb/500000`, cfg)).bytes.length).toBe(500_046);
  });

  describe("resolves each host once and connects to the address it checked", () => {
    const deny = { ...allow, allowPrivateAddresses: false, timeoutMs: 800 };
    /** A rebinding DNS server's answers, scripted: a public address first, loopback afterwards. */
    const rebinding = () => {
      const asked: string[] = [];
      const resolve: HostResolver = async (host) => {
        asked.push(host);
        return [{ address: asked.length === 1 ? "93.184.215.14" : "127.0.0.1", family: 4 }];
      };
      return { asked, resolve };
    };

    it("never lets a second lookup send the connection to loopback (DNS rebinding)", async () => {
      // "localhost" resolves to the corpus server's loopback address for anyone who asks the system again.
      const url = corpus.openmoji("1F436").replace("127.0.0.1", "localhost");
      const seen = corpus.requests.length;
      const dns = rebinding();
      const err = await fetchSvg(url, deny, undefined, dns.resolve).then(() => undefined, (e: unknown) => e as FetchError);
      expect(err).toBeInstanceOf(FetchError);
      expect(dns.asked).toEqual(["localhost"]);
      expect(corpus.requests.length).toBe(seen);
    });

    it("allows configured ranges only, and checks every redirect's host against them", async () => {
      const onlyLoopback = { ...deny, allowCidrs: ["127.0.0.0/8"] };
      expect((await fetchSvg(corpus.openmoji("1F436"), onlyLoopback)).bytes.length).toBeGreaterThan(100);
      const resolve: HostResolver = async () => [{ address: "169.254.169.254", family: 4 }];
      const err = await fetchSvg(`${corpus.base}/location?to=${encodeURIComponent("http://metadata.internal/latest/meta-data/")}`, onlyLoopback, undefined, resolve).then(
        () => undefined,
        (e: unknown) => e as FetchError,
      );
      expect(err?.refused).toBe(true);
      expect(err?.message).toMatch(/refusing to fetch from metadata\.internal: it does not resolve to a public address/);
    });

    describe("does not tell the caller where a refused name points", () => {
      const resolve: HostResolver = async () => [
        { address: "10.20.30.40", family: 4 },
        { address: "fd00:ec2::254", family: 6 },
      ];
      const refusal = (cfg: FetchConfig) =>
        fetchSvg("http://assets.internal:8443/a.svg", cfg, undefined, resolve).then(
          () => undefined,
          (e: unknown) => e as FetchError,
        );

      it("by default", async () => {
        const err = await refusal(deny);
        expect(err?.refused).toBe(true);
        expect(err?.message).toMatch(/refusing to fetch from assets\.internal: it does not resolve to a public address.*SVGVEC_FETCH_ALLOW_PRIVATE=true/);
        expect(err?.message).toContain("SVGVEC_FETCH_REVEAL_ADDRESSES=true");
        expect(err?.message).not.toMatch(/10\.20\.30\.40|fd00|private|uniqueLocal/);
      });

      it("but names the addresses when SVGVEC_FETCH_REVEAL_ADDRESSES is set", async () => {
        const err = await refusal({ ...deny, revealAddresses: true });
        expect(err?.refused).toBe(true);
        expect(err?.message).toMatch(/it resolves to 10\.20\.30\.40 \(private\), fd00:ec2::254 \(uniqueLocal\), not a public address/);
      });
    });

    it.each([
      ["http://[::ffff:127.0.0.1]:9/a.svg", "loopback"],
      ["http://[::1]:9/a.svg", "loopback"],
      ["http://2130706433:9/a.svg", "loopback"],
      ["http://0x7f.1:9/a.svg", "loopback"],
      ["http://169.254.169.254/latest/meta-data/", "linkLocal"],
      ["http://[fd00:ec2::254]/latest/meta-data/", "uniqueLocal"],
      ["http://100.100.100.200/latest/meta-data/", "carrierGradeNat"],
      ["http://[64:ff9b::7f00:1]:9/a.svg", "loopback"],
      ["http://[64:ff9b::10.0.0.1]:9/a.svg", "private"],
      ["http://[64:ff9b:1::808:808]:9/a.svg", "rfc6052"],
      ["http://[2002:7f00:1::1]:9/a.svg", "loopback"],
      ["http://[2002:a9fe:a9fe::]/latest/meta-data/", "linkLocal"],
      ["http://[::127.0.0.1]:9/a.svg", "ipv4Compatible"],
      ["http://[::7f00:1]:9/a.svg", "ipv4Compatible"],
      ["http://[::10.0.0.1]:9/a.svg", "ipv4Compatible"],
      ["http://[::8.8.8.8]:9/a.svg", "ipv4Compatible"],
      ["http://0.0.0.0:9/a.svg", "unspecified"],
      ["http://224.0.0.1:9/a.svg", "multicast"],
    ])("refuses %s (%s) by default", async (url, range) => {
      const err = await fetchSvg(url, deny).then(() => undefined, (e: unknown) => e as FetchError);
      expect(err?.refused).toBe(true);
      expect(err?.message).toContain(`(${range})`);
    });
  });

  it("does not start for a caller that has already cancelled", async () => {
    const seen = corpus.requests.length;
    const err = await fetchSvg(corpus.openmoji("1F436"), allow, AbortSignal.abort(new Error("the caller went away"))).then(
      () => undefined,
      (e: unknown) => e as FetchError,
    );
    expect(err).toBeInstanceOf(FetchError);
    expect(err?.message).toMatch(/the caller went away/);
    expect(corpus.requests.length).toBe(seen);
  });

  it("rejects malformed URLs", async () => {
    expect((await failure("not a url"))?.message).toMatch(/not a valid URL/);
  });

  it("counts each failure in svgvec_fetch_failures_total under its reason, and no download its caller abandoned", async () => {
    const brotli = http.createServer((_req, res) => {
      res.writeHead(200, { "content-type": "image/svg+xml", "content-encoding": "br" });
      res.end("<svg/>");
    });
    await new Promise<void>((r) => brotli.listen(0, "127.0.0.1", r));
    const noDns: HostResolver = () => Promise.reject(new Error("queryA ENOTFOUND"));
    // One at a time, so each moves the counter by one.
    const cases: Array<[FetchFailureReason, () => Promise<FetchError | undefined>]> = [
      ["invalid_url", () => failure("not a url")],
      ["refused_scheme", () => failure(`${corpus.base}/location?to=${encodeURIComponent("ftp://example.com/a.svg")}`)],
      ["refused_credentials", () => failure(`${corpus.base}/location?to=${encodeURIComponent("http://user:pw@example.com/a.svg")}`)],
      ["refused_address", () => failure(corpus.openmoji("1F436"), { ...allow, allowPrivateAddresses: false })],
      ["dns", () => fetchSvg("http://svg.test/a.svg", allow, undefined, noDns).then(() => undefined, (e: unknown) => e as FetchError)],
      ["network", () => failure("http://127.0.0.1:1/a.svg")],
      ["timeout", () => failure(`${corpus.base}/slow`, { ...allow, timeoutMs: 300 })],
      ["http_status", () => failure(`${corpus.base}/status/404`)],
      ["too_many_redirects", () => failure(`${corpus.base}/redirect/4/openmoji/1F436.svg`)],
      ["too_large", () => failure(`${corpus.base}/bytes/5000000`, { ...allow, maxBytes: 100_000 })],
      ["bad_encoding", () => failure(`http://127.0.0.1:${(brotli.address() as AddressInfo).port}/a.svg`)],
    ];
    const counted = (samples: Sample[], reason?: FetchFailureReason) =>
      total(samples, "svgvec_fetch_failures_total", reason === undefined ? {} : { reason });
    try {
      for (const [reason, attempt] of cases) {
        const before = await fetchFailures();
        const err = await attempt();
        expect(err).toBeInstanceOf(FetchError);
        const after = await fetchFailures();
        // The reason beside each number, so a failure names the case.
        expect([reason, err?.reason, counted(after, reason) - counted(before, reason), counted(after) - counted(before)]).toEqual([reason, reason, 1, 1]);
      }
    } finally {
      brotli.close();
    }
    const before = await fetchFailures();
    const caller = new AbortController();
    const abandoned = fetchSvg(`${corpus.base}/slow`, allow, caller.signal).then(() => undefined, (e: unknown) => e);
    await waitFor(() => corpus.openSlow() > 0);
    caller.abort(new Error("the caller went away"));
    expect(await abandoned).toBeInstanceOf(FetchError);
    expect(counted(await fetchFailures())).toBe(counted(before));
  });
});

/** The fetch failures counted so far in this process. */
async function fetchFailures(): Promise<Sample[]> {
  return parseMetrics(await registry.getSingleMetricAsString("svgvec_fetch_failures_total"));
}

/** A server whose answers but /ok send their headers and part of their body, then never end. */
async function startNeverEnding(): Promise<{ base: string; server: http.Server; close(): Promise<void> }> {
  const bomb = gzipSync(Buffer.alloc(4 * 1024 * 1024, 0x20));
  const server = http.createServer((req, res) => {
    switch (req.url) {
      case "/404":
        res.writeHead(404, { "content-type": "text/plain" });
        return void res.write("not here, and this sentence never ends");
      case "/302":
        res.writeHead(302, { location: "/404", "content-type": "text/plain" });
        return void res.write("moved, and this sentence never ends");
      case "/bad-gzip":
        res.writeHead(200, { "content-type": "image/svg+xml", "content-encoding": "gzip" });
        return void res.write("<svg> is not gzip");
      case "/gzip-bomb":
        res.writeHead(200, { "content-type": "image/svg+xml", "content-encoding": "gzip" });
        return void res.write(bomb);
      case "/ok": // the one answer that ends, on a connection the server would keep alive
        res.writeHead(200, { "content-type": "image/svg+xml" });
        return void res.end("<svg/>");
      default:
        res.writeHead(200, { "content-type": "image/svg+xml" });
        return void res.write(Buffer.alloc(256 * 1024, 0x20));
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    server,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

describe("fetchSvg against bodies that never end", () => {
  const openFds = () => readdirSync("/proc/self/fd").length;
  const connections = (server: http.Server) =>
    new Promise<number>((resolve, reject) => server.getConnections((e, n) => (e ? reject(e) : resolve(n))));

  it("closes every connection it stops reading, on every early exit", async () => {
    const hang = await startNeverEnding();
    try {
      const cfg: FetchConfig = { ...allow, maxBytes: 64 * 1024 };
      const fdsBefore = openFds();
      const cases: Array<[string, RegExp | undefined]> = [
        ["/404", /HTTP 404/],
        ["/302", /HTTP 404/],
        ["/bad-gzip", /could not download/],
        ["/gzip-bomb", /larger than the 65536-byte limit/],
        ["/plain-too-big", /larger than the 65536-byte limit/],
        ["/ok", undefined],
      ];
      const outcomes = await Promise.all(
        Array.from({ length: 300 }, (_, i) => fetchSvg(`${hang.base}${cases[i % cases.length]?.[0]}`, cfg).then(() => undefined, (e: unknown) => e)),
      );
      outcomes.forEach((e, i) => {
        const expected = cases[i % cases.length]?.[1];
        if (expected === undefined) return expect(e).toBeUndefined();
        expect(e).toBeInstanceOf(FetchError);
        expect((e as FetchError).message).toMatch(expected);
      });
      const stillOpen = await connections(hang.server);
      await waitFor(async () => (await connections(hang.server)) === 0 && openFds() <= fdsBefore + 5, 5_000).catch(async () => {
        throw new Error(`after 5 s the server still has ${await connections(hang.server)} of ${stillOpen} connections open, and this process ${openFds() - fdsBefore} more descriptors than before`);
      });
    } finally {
      await hang.close();
    }
  });
});

describe("fetchSvg with a nameserver that never answers", () => {
  const outcome = (p: Promise<unknown>) =>
    p.then(
      () => undefined,
      (e: unknown) => e,
    );

  it("gives up on the lookup at the download's deadline", async () => {
    const dns = await startSilentDns();
    try {
      const started = Date.now();
      const err = await outcome(fetchSvg("http://svg.test/x.svg", { ...allow, timeoutMs: 300 }, undefined, createHostResolver({ servers: [dns.server] })));
      expect(err).toBeInstanceOf(FetchError);
      expect((err as FetchError).message).toMatch(/longer than 300 ms/);
      expect(dns.queries()).toBeGreaterThan(0);
      expect(Date.now() - started).toBeLessThan(3_000);
    } finally {
      await dns.close();
    }
  });

  it("gives up on the lookup when the caller cancels", async () => {
    const dns = await startSilentDns();
    try {
      const caller = new AbortController();
      const asked = dns.nextQuery();
      const pending = outcome(fetchSvg("http://svg.test/x.svg", { ...allow, timeoutMs: 60_000 }, caller.signal, createHostResolver({ servers: [dns.server] })));
      await asked;
      const cancelled = Date.now();
      caller.abort(new Error("the caller went away"));
      const err = await pending;
      expect(err).toBeInstanceOf(FetchError);
      expect((err as FetchError).message).toMatch(/the caller went away/);
      expect(Date.now() - cancelled).toBeLessThan(1_000);
    } finally {
      await dns.close();
    }
  });

  it("still reaches localhost, which is answered without DNS", async () => {
    const dns = await startSilentDns();
    const corpus = await startCorpus();
    try {
      const url = corpus.openmoji("1F436").replace("127.0.0.1", "localhost");
      const file = await fetchSvg(url, { ...allow, timeoutMs: 2_000 }, undefined, createHostResolver({ servers: [dns.server] }));
      expect(file.bytes.toString("utf8")).toContain("<svg");
      expect(dns.queries()).toBe(0);
    } finally {
      await corpus.close();
      await dns.close();
    }
  });
});

describe("addressRange", () => {
  it.each([
    ["127.0.0.1", "loopback"],
    ["10.1.2.3", "private"],
    ["192.168.0.1", "private"],
    ["172.16.5.4", "private"],
    ["169.254.169.254", "linkLocal"],
    ["0.0.0.0", "unspecified"],
    ["224.0.0.1", "multicast"],
    ["::1", "loopback"],
    ["fe80::1", "linkLocal"],
    ["fd00::1", "uniqueLocal"],
    ["::ffff:127.0.0.1", "loopback"],
    ["::ffff:10.0.0.1", "private"],
    ["8.8.8.8", "unicast"],
    ["2606:4700:4700::1111", "unicast"],
    // IPv4-compatible (::/96, deprecated): never public, whatever it carries, however it is written.
    ["::127.0.0.1", "ipv4Compatible"],
    ["::7f00:1", "ipv4Compatible"],
    ["::10.0.0.1", "ipv4Compatible"],
    ["::a00:1", "ipv4Compatible"],
    ["::8.8.8.8", "ipv4Compatible"],
    ["0:0:0:0:0:0:808:808", "ipv4Compatible"],
    ["::2", "ipv4Compatible"],
    ["::", "unspecified"],
    ["::ffff:7f00:1", "loopback"],
    ["::ffff:8.8.8.8", "unicast"],
    ["::ffff:0:7f00:1", "rfc6145"],
    // NAT64's well-known prefix and 6to4 reach the IPv4 address they carry, and are judged as it.
    ["64:ff9b::7f00:1", "loopback"],
    ["64:ff9b::127.0.0.1", "loopback"],
    ["64:ff9b::a9fe:a9fe", "linkLocal"],
    ["64:ff9b::192.168.1.1", "private"],
    ["64:ff9b::6440:1", "carrierGradeNat"],
    ["64:ff9b::808:808", "unicast"],
    ["64:ff9b:1::808:808", "rfc6052"],
    ["2002:7f00:1::", "loopback"],
    ["2002:a00:1:5::1", "private"],
    ["2002:c0a8:101::1", "private"],
    ["2002:0:0::1", "unspecified"],
    ["2002:808:808::1", "unicast"],
    ["2001:0:4136:e378:8000:63bf:3fff:fdd2", "teredo"],
    ["fe80::1%eth0", "linkLocal"],
  ])("%s is %s", (address, range) => {
    expect(addressRange(address)).toBe(range);
  });

  it.each(["1::2::3", "127.1", "::1.2.3", `${"a:".repeat(50)}!`])("refuses to judge %s, which is not an IP address", (address) => {
    expect(() => addressRange(address)).toThrow(/is not an IP address/);
  });
});
