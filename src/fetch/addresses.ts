/**
 * Which addresses count as public. ipaddr.js names the special ranges; on top
 * of it, addresses that carry an IPv4 address (IPv4-mapped, NAT64's well-known
 * prefix, 6to4) are judged by the IPv4 address they carry, and the deprecated
 * IPv4-compatible range ::/96 is never public.
 */
import { isIP } from "node:net";
import ipaddr from "ipaddr.js";

/**
 * The range an address lies in: "unicast" for a public address, otherwise
 * ipaddr.js's name for it (loopback, private, linkLocal, ...) or "ipv4Compatible".
 */
export function addressRange(address: string): string {
  const parsed = parseAddress(address);
  if (parsed.kind() === "ipv4") return parsed.range();
  const v6 = parsed as ipaddr.IPv6;
  const carried = carriedIPv4(v6);
  if (carried !== undefined) return carried.range();
  const range = v6.range();
  // ::/96 beyond :: and ::1 held "IPv4-compatible" addresses (RFC 4291 deprecated them); ipaddr.js calls them unicast.
  if (range === "unicast" && v6.parts.slice(0, 6).every((p) => p === 0)) return "ipv4Compatible";
  return range;
}

/** Whether the address lies in one of the CIDRs; IPv4-mapped addresses are matched as their IPv4 address. */
export function inRanges(address: string, cidrs: readonly string[]): boolean {
  if (cidrs.length === 0) return false;
  let parsed = parseAddress(address);
  if (parsed.kind() === "ipv6" && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  return cidrs.some((c) => {
    const range = ipaddr.parseCIDR(c);
    return range[0].kind() === parsed.kind() && parsed.match(range);
  });
}

/** The IPv4 address that an IPv4-mapped (::ffff:0:0/96), NAT64 well-known prefix (64:ff9b::/96) or 6to4 (2002::/16) address reaches. */
function carriedIPv4(v6: ipaddr.IPv6): ipaddr.IPv4 | undefined {
  const p = v6.parts;
  const v4 = (hi: number, lo: number) => new ipaddr.IPv4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff]);
  if (v6.isIPv4MappedAddress()) return v6.toIPv4Address();
  if (p[0] === 0x64 && p[1] === 0xff9b && p.slice(2, 6).every((x) => x === 0)) return v4(p[6] ?? 0, p[7] ?? 0);
  if (p[0] === 0x2002) return v4(p[1] ?? 0, p[2] ?? 0);
  return undefined;
}

/**
 * Parses an IPv4 or IPv6 address as the kernel and the URL parser read it. ipaddr.js reads "::a.b.c.d"
 * as the IPv4-mapped "::ffff:a.b.c.d", which is a different address, so a dotted IPv4 tail is turned
 * into two hex groups first; a zone ("%eth0") does not change the range and is dropped.
 */
function parseAddress(address: string): ipaddr.IPv4 | ipaddr.IPv6 {
  // ipaddr.js parses with regular expressions; only strings node has already checked reach them.
  const family = isIP(address);
  if (family === 0) throw new Error(`${JSON.stringify(address.slice(0, 100))} is not an IP address`);
  if (family === 4) return ipaddr.IPv4.parse(address);
  const zone = address.indexOf("%");
  const bare = zone === -1 ? address : address.slice(0, zone);
  const lastColon = bare.lastIndexOf(":");
  const tail = bare.slice(lastColon + 1);
  if (!tail.includes(".")) return ipaddr.IPv6.parse(bare);
  const [a = 0, b = 0, c = 0, d = 0] = ipaddr.IPv4.parse(tail).octets;
  return ipaddr.IPv6.parse(`${bare.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`);
}
