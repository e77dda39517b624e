import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHostResolver, parseHosts } from "../../src/fetch/resolve.js";
import { type SilentDns, startSilentDns } from "../helpers/silent-dns.js";

describe("createHostResolver", () => {
  let dns: SilentDns;
  let hostsFile: string;
  beforeAll(async () => {
    dns = await startSilentDns();
    hostsFile = join(mkdtempSync(join(tmpdir(), "svgvec-hosts-")), "hosts");
    writeFileSync(hostsFile, "# test hosts\n10.1.2.3\tassets.internal  assets # the asset server\nfd00::5 assets\n");
  });
  afterAll(() => dns.close());

  it.each(["localhost", "LOCALHOST.", "icons.localhost"])("answers %s as loopback without asking DNS (RFC 6761)", async (host) => {
    const resolve = createHostResolver({ servers: [dns.server], hostsFile });
    expect(await resolve(host)).toEqual([
      { address: "127.0.0.1", family: 4 },
      { address: "::1", family: 6 },
    ]);
    expect(dns.queries()).toBe(0);
  });

  it("answers names in the hosts file without asking DNS", async () => {
    const resolve = createHostResolver({ servers: [dns.server], hostsFile });
    expect(await resolve("assets.internal.")).toEqual([{ address: "10.1.2.3", family: 4 }]);
    expect(await resolve("assets")).toEqual([
      { address: "10.1.2.3", family: 4 },
      { address: "fd00::5", family: 6 },
    ]);
    expect(dns.queries()).toBe(0);
  });

  it("gives up on a nameserver that never answers after its own timeout", async () => {
    const resolve = createHostResolver({ servers: [dns.server], hostsFile, timeoutMs: 100, tries: 1 });
    const started = Date.now();
    const err = await resolve("svg.test").then(
      () => undefined,
      (e: unknown) => e as NodeJS.ErrnoException,
    );
    expect(err?.code).toBe("ETIMEOUT");
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it("stops asking when its signal aborts", async () => {
    const resolve = createHostResolver({ servers: [dns.server], hostsFile, timeoutMs: 30_000, tries: 1 });
    const caller = new AbortController();
    const asked = dns.nextQuery();
    const pending = resolve("svg.test", caller.signal).then(
      () => undefined,
      (e: unknown) => e,
    );
    await asked;
    const cancelled = Date.now();
    caller.abort(new Error("stop"));
    expect(await pending).toEqual(new Error("stop"));
    // c-ares alone would wait seconds for the silent nameserver.
    expect(Date.now() - cancelled).toBeLessThan(1_000);
  });
});

describe("parseHosts", () => {
  it("reads addresses and names, skipping comments, blank lines and lines without a valid address", () => {
    const hosts = parseHosts(
      ["127.0.0.1 localhost", "", "   # only a comment", "not-an-ip bogus", "192.0.2.7\tA.Example. a-alias\r", "192.0.2.7 a.example", "::1 ip6-localhost #x y"].join("\n"),
    );
    expect(Object.fromEntries(hosts)).toEqual({
      localhost: [{ address: "127.0.0.1", family: 4 }],
      "a.example": [{ address: "192.0.2.7", family: 4 }],
      "a-alias": [{ address: "192.0.2.7", family: 4 }],
      "ip6-localhost": [{ address: "::1", family: 6 }],
    });
  });
});
