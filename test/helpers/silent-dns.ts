import dgram from "node:dgram";
import type { AddressInfo } from "node:net";

/** A nameserver on loopback that receives queries and never answers them. */
export interface SilentDns {
  /** "127.0.0.1:port", for a resolver's server list. */
  server: string;
  /** Queries received so far. */
  queries(): number;
  /** Resolves at the next query. */
  nextQuery(): Promise<void>;
  close(): Promise<void>;
}

export async function startSilentDns(): Promise<SilentDns> {
  const socket = dgram.createSocket("udp4");
  let count = 0;
  socket.on("message", () => count++);
  await new Promise<void>((r) => socket.bind(0, "127.0.0.1", r));
  return {
    server: `127.0.0.1:${(socket.address() as AddressInfo).port}`,
    queries: () => count,
    nextQuery: () => new Promise((r) => socket.once("message", () => r())),
    close: () => new Promise((r) => socket.close(() => r())),
  };
}
