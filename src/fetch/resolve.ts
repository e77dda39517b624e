/**
 * Host name resolution for downloads, without libuv's thread pool: the system
 * resolver (dns.lookup, getaddrinfo) runs on that 4-thread pool and cannot be
 * stopped, so a slow nameserver would hold call slots and stall zlib and file
 * I/O. This one answers localhost itself (RFC 6761), then /etc/hosts, then asks
 * DNS through c-ares with its own timeout, and cancels the query when the
 * caller's signal aborts.
 */
import type { LookupAddress } from "node:dns";
import { Resolver } from "node:dns/promises";
import { readFile } from "node:fs/promises";
import { isIP } from "node:net";

/**
 * Answers every address of a host name. It must settle soon after signal
 * aborts, since the download waits on it.
 */
export type HostResolver = (host: string, signal?: AbortSignal) => Promise<LookupAddress[]>;

export interface HostResolverOptions {
  /** Nameservers as "ip" or "ip:port"; empty or absent for the system's (/etc/resolv.conf). */
  servers?: readonly string[];
  /** c-ares's timeout for the first try at each nameserver; later tries wait longer. */
  timeoutMs?: number;
  /** Tries at each nameserver before giving up. */
  tries?: number;
  /** The hosts file consulted before DNS. */
  hostsFile?: string;
}

const LOCALHOST: readonly LookupAddress[] = [
  { address: "127.0.0.1", family: 4 },
  { address: "::1", family: 6 },
];

export function createHostResolver(options: HostResolverOptions = {}): HostResolver {
  const { servers = [], timeoutMs = 1_000, tries = 2, hostsFile = "/etc/hosts" } = options;
  let hosts: Promise<ReadonlyMap<string, LookupAddress[]>> | undefined;
  return async (host, signal) => {
    signal?.throwIfAborted();
    const name = canonicalName(host);
    if (name === "localhost" || name.endsWith(".localhost")) return [...LOCALHOST];
    hosts ??= readFile(hostsFile, "utf8").then(parseHosts, () => new Map<string, LookupAddress[]>());
    const listed = (await hosts).get(name);
    if (listed !== undefined) return [...listed];
    signal?.throwIfAborted();

    // One channel per lookup, so that cancel() on abort ends this lookup's queries and no one else's.
    const resolver = new Resolver({ timeout: timeoutMs, tries });
    if (servers.length > 0) resolver.setServers([...servers]);
    const cancel = (): void => resolver.cancel();
    signal?.addEventListener("abort", cancel, { once: true });
    try {
      const [v4, v6] = await Promise.allSettled([resolver.resolve4(name), resolver.resolve6(name)]);
      signal?.throwIfAborted();
      const found: LookupAddress[] = [
        ...(v4.status === "fulfilled" ? v4.value.map((address) => ({ address, family: 4 })) : []),
        ...(v6.status === "fulfilled" ? v6.value.map((address) => ({ address, family: 6 })) : []),
      ];
      if (found.length === 0) {
        const reason: unknown = v4.status === "rejected" ? v4.reason : v6.status === "rejected" ? v6.reason : undefined;
        throw reason ?? new Error(`${name} has no A or AAAA records`);
      }
      return found;
    } finally {
      signal?.removeEventListener("abort", cancel);
    }
  };
}

/** Lower case, without the one trailing dot a fully qualified name may carry. */
function canonicalName(host: string): string {
  const lower = host.toLowerCase();
  return lower.endsWith(".") ? lower.slice(0, -1) : lower;
}

/** hosts(5): an address, then names, per line; # starts a comment. One pass, no regular expressions. */
export function parseHosts(text: string): Map<string, LookupAddress[]> {
  const byName = new Map<string, LookupAddress[]>();
  for (const rawLine of text.split("\n")) {
    const hash = rawLine.indexOf("#");
    const [address, ...names] = fields(hash === -1 ? rawLine : rawLine.slice(0, hash));
    if (address === undefined) continue;
    const family = isIP(address);
    if (family === 0) continue;
    for (const n of names) {
      const key = canonicalName(n);
      const list = byName.get(key) ?? [];
      if (!list.some((a) => a.address === address)) list.push({ address, family });
      byName.set(key, list);
    }
  }
  return byName;
}

/** The blank-separated fields of one line. */
function fields(line: string): string[] {
  const out: string[] = [];
  let start = -1;
  for (let i = 0; i <= line.length; i++) {
    const c = i < line.length ? line.charCodeAt(i) : 0x20;
    const blank = c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0b || c === 0x0c;
    if (!blank && start === -1) start = i;
    else if (blank && start !== -1) {
      out.push(line.slice(start, i));
      start = -1;
    }
  }
  return out;
}
