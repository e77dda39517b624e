/**
 * Downloads an SVG by URL, treating the URL and the server behind it as hostile:
 * http(s) only, every host resolved once and the connection made to the address
 * that was checked (no DNS rebinding), non-public addresses refused unless
 * allowed, redirects checked the same way and capped, the body streamed against
 * a size cap (after decompression too) and the whole download against a deadline.
 */
import type { LookupAddress } from "node:dns";
import http from "node:http";
import https from "node:https";
import { isIP } from "node:net";
import type { Readable } from "node:stream";
import { createGunzip, gunzipSync } from "node:zlib";
import type { FetchConfig } from "../config.js";
import { FetchError, SvgVecError, errorMessage } from "../errors.js";
import { countFetchFailure } from "../metrics/metrics.js";
import { addressRange, inRanges } from "./addresses.js";
import { type HostResolver, createHostResolver } from "./resolve.js";

export { addressRange } from "./addresses.js";
export type { HostResolver } from "./resolve.js";

export interface FetchedFile {
  /** The body, decompressed (SVGZ and gzip content-encoding are undone). */
  bytes: Buffer;
  /** The URL the body came from, after redirects. */
  finalUrl: string;
  contentType: string;
}

const GZIP_MAGIC = [0x1f, 0x8b];

const systemResolver: HostResolver = createHostResolver();

export async function fetchSvg(
  url: string,
  config: FetchConfig,
  signal?: AbortSignal,
  resolveHost: HostResolver = systemResolver,
): Promise<FetchedFile> {
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new FetchError(`download of ${url} took longer than ${config.timeoutMs} ms`, "timeout")),
    config.timeoutMs,
  );
  const onAbort = () => controller.abort(signal?.reason);
  signal?.addEventListener("abort", onAbort, { once: true });
  // A signal that aborted before the call fires no event.
  if (signal?.aborted === true) onAbort();
  try {
    let current = url;
    for (let redirects = 0; ; redirects++) {
      const target = parseHttpUrl(current);
      const address = await resolveAllowed(target, config, resolveHost, controller.signal);
      controller.signal.throwIfAborted();
      const res = await request(target, address, controller.signal);
      let gunzip: Readable | undefined;
      // Every path out of this block stops reading, so the response (and its socket) goes with it:
      // resuming instead would read a body that never ends for as long as the server likes.
      try {
        const status = res.statusCode ?? 0;
        if (status >= 300 && status < 400 && res.headers.location !== undefined) {
          if (redirects >= config.maxRedirects) {
            throw new FetchError(`${url} redirected more than ${config.maxRedirects} times`, "too_many_redirects");
          }
          current = new URL(res.headers.location, target).toString();
          continue;
        }
        if (status !== 200) {
          throw new FetchError(`GET ${current} answered HTTP ${status}; the URL must serve the SVG file itself`, "http_status");
        }
        const declared = Number(res.headers["content-length"] ?? NaN);
        if (Number.isFinite(declared) && declared > config.maxBytes) {
          throw new FetchError(`${current} is ${declared} bytes, over the ${config.maxBytes}-byte limit`, "too_large");
        }
        const encoding = String(res.headers["content-encoding"] ?? "identity").toLowerCase();
        let body: Readable = res;
        if (encoding === "gzip" || encoding === "x-gzip") {
          const inflate = createGunzip();
          gunzip = inflate;
          res.on("error", (e) => inflate.destroy(e));
          body = res.pipe(inflate);
        } else if (encoding !== "identity") {
          throw new FetchError(`${current} answered with content-encoding ${encoding}; only gzip is supported`, "bad_encoding");
        }
        let bytes = await readCapped(body, config.maxBytes, current, controller.signal);
        if (bytes[0] === GZIP_MAGIC[0] && bytes[1] === GZIP_MAGIC[1]) bytes = gunzipCapped(bytes, config.maxBytes, current);
        return { bytes, finalUrl: current, contentType: String(res.headers["content-type"] ?? "") };
      } finally {
        gunzip?.destroy();
        res.destroy();
      }
    }
  } catch (err) {
    const reason: unknown = controller.signal.aborted ? controller.signal.reason : err;
    const failure =
      reason instanceof SvgVecError ? reason : new FetchError(`could not download ${url}: ${errorMessage(reason)}`, "network", { cause: reason });
    // A download its caller abandoned did not fail.
    if (failure instanceof FetchError && signal?.aborted !== true) countFetchFailure(failure.reason);
    throw failure;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
    // Ends whatever request is still attached to the signal, so nothing outlives this call.
    controller.abort(new FetchError(`download of ${url} has ended`, "network"));
  }
}

function parseHttpUrl(raw: string): URL {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new FetchError(`"${raw}" is not a valid URL`, "invalid_url");
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") {
    throw new FetchError(`${u.protocol} URLs are not allowed; use http or https`, "refused_scheme");
  }
  if (u.username !== "" || u.password !== "") {
    throw new FetchError(`URLs with credentials are not allowed`, "refused_credentials");
  }
  return u;
}

/** The one address the request will connect to: resolved once, then checked. */
async function resolveAllowed(u: URL, config: FetchConfig, resolveHost: HostResolver, signal: AbortSignal): Promise<LookupAddress> {
  // The URL parser writes an IPv6 host in brackets, and only then.
  const host = u.hostname.startsWith("[") && u.hostname.endsWith("]") ? u.hostname.slice(1, -1) : u.hostname;
  const found: LookupAddress[] =
    isIP(host) !== 0
      ? [{ address: host, family: isIP(host) }]
      : await resolveHost(host, signal).catch((e: unknown) => {
          throw new FetchError(`cannot resolve host ${host}: ${errorMessage(e)}`, "dns");
        });
  if (config.allowPrivateAddresses) {
    const first = found[0];
    if (first === undefined) throw new FetchError(`host ${host} has no addresses`, "dns");
    return first;
  }
  const allowed = found.find((a) => addressRange(a.address) === "unicast" || inRanges(a.address, config.allowCidrs));
  if (allowed === undefined) {
    const ranges = found.map((a) => `${a.address} (${addressRange(a.address)})`).join(", ");
    // Where a name points is not the caller's to learn: naming the addresses would make the service a DNS
    // (and, through the errors that follow, port) probe of the network it runs in. An address the URL
    // itself gave away is no secret.
    const what =
      isIP(host) !== 0
        ? `it is ${ranges}, not a public address`
        : config.revealAddresses === true
          ? `it resolves to ${ranges}, not a public address`
          : `it does not resolve to a public address (SVGVEC_FETCH_REVEAL_ADDRESSES=true shows where it does)`;
    throw new FetchError(
      `refusing to fetch from ${host}: ${what}. ` +
        `Set SVGVEC_FETCH_ALLOW_CIDRS to allow particular ranges, or SVGVEC_FETCH_ALLOW_PRIVATE=true for all of them.`,
      "refused_address",
    );
  }
  return allowed;
}

function request(u: URL, address: LookupAddress, signal: AbortSignal): Promise<http.IncomingMessage> {
  return new Promise((resolvePromise, reject) => {
    const mod = u.protocol === "https:" ? https : http;
    const req = mod.request(
      u,
      {
        method: "GET",
        signal,
        // A socket of our own per request, closed with it: a pooled keep-alive socket would outlive the
        // download, and the pool, keyed by host name, would hand it to a later download without a lookup.
        agent: false,
        headers: {
          accept: "image/svg+xml, */*;q=0.5",
          "accept-encoding": "gzip",
          "user-agent": "svgvec/0.1",
        },
        // Connect to the address that was checked, never to a second lookup's answer.
        lookup: (_host, options, callback) => {
          if ((options as { all?: boolean }).all === true) {
            (callback as (e: null, a: LookupAddress[]) => void)(null, [address]);
          } else {
            (callback as (e: null, a: string, f: number) => void)(null, address.address, address.family);
          }
        },
      },
      resolvePromise,
    );
    req.on("error", reject);
    req.end();
  });
}

async function readCapped(stream: Readable, maxBytes: number, url: string, signal: AbortSignal): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    signal.throwIfAborted();
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > maxBytes) {
      stream.destroy();
      throw new FetchError(`${url} is larger than the ${maxBytes}-byte limit`, "too_large");
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks, size);
}

function gunzipCapped(bytes: Buffer, maxBytes: number, url: string): Buffer {
  try {
    return gunzipSync(bytes, { maxOutputLength: maxBytes });
  } catch (e) {
    if (e instanceof RangeError || (e as { code?: string }).code === "ERR_BUFFER_TOO_LARGE") {
      throw new FetchError(`${url} decompresses to more than the ${maxBytes}-byte limit`, "too_large");
    }
    throw new FetchError(`${url} looks gzip-compressed (SVGZ) but does not decompress: ${errorMessage(e)}`, "bad_encoding");
  }
}
