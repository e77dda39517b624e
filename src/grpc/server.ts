/**
 * The gRPC server: svgvec.v1 plus grpc.health.v1 and server reflection.
 */
import * as grpc from "@grpc/grpc-js";
import { HealthImplementation } from "grpc-health-check";
import { SvgVecService, file_svgvec_v1_svgvec } from "../gen/svgvec/v1/svgvec_pb.js";
import { readFile } from "node:fs/promises";
import type { AccessConfig } from "../config.js";
import { ConfigError } from "../errors.js";
import type { Logger } from "../log.js";
import type { SvgVecImpl } from "../rpc/svgvec-impl.js";
import { MAX_MESSAGE_BYTES } from "../rpc/validate.js";
import { grpcHandlers, grpcServiceDefinition } from "./grpc-adapter.js";
import { authInterceptor } from "./auth.js";
import { createReflection } from "./reflection.js";

export interface GrpcServer {
  /** host:port actually bound. */
  address: string;
  port: number;
  /** Reports SERVING or NOT_SERVING on grpc.health.v1, for "" and svgvec.v1; ignored once closing. */
  setServing(serving: boolean): void;
  /** Stops accepting calls, lets running ones finish for up to graceMs, then cancels the rest. */
  close(graceMs: number): Promise<void>;
}


export interface ServerOptions {
  listen: string;
  access: AccessConfig;
}

export async function startGrpcServer({ listen, access }: ServerOptions, impl: SvgVecImpl, log: Logger): Promise<GrpcServer> {
  const server = new grpc.Server({
    "grpc.max_receive_message_length": MAX_MESSAGE_BYTES,
    "grpc.max_send_message_length": 64 * 1024 * 1024,
    interceptors: access.tokens.length > 0 ? [authInterceptor(access.tokens, log)] : [],
  });
  server.addService(grpcServiceDefinition(SvgVecService), grpcHandlers(SvgVecService, impl, log));
  const health = new HealthImplementation({ "": "SERVING", [SvgVecService.typeName]: "SERVING" });
  health.addToServer(server);
  createReflection([file_svgvec_v1_svgvec]).addToServer(server);

  const creds = await credentials(access);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(listen, creds, (err, p) => (err ? reject(listenError(listen, err)) : resolve(p))),
  );
  const host = listen.slice(0, listen.lastIndexOf(":"));
  let closing = false;
  let serving = true;
  const report = (to: boolean) => {
    if (to === serving) return;
    serving = to;
    for (const name of ["", SvgVecService.typeName]) health.setStatus(name, to ? "SERVING" : "NOT_SERVING");
  };
  return {
    address: `${host}:${port}`,
    port,
    setServing: (to) => {
      if (!closing) report(to);
    },
    close: (graceMs) =>
      new Promise<void>((resolve) => {
        closing = true;
        report(false);
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}

async function credentials(access: AccessConfig): Promise<grpc.ServerCredentials> {
  if (access.tlsCert === "") return grpc.ServerCredentials.createInsecure();
  const [cert, key] = await Promise.all([readFile(access.tlsCert), readFile(access.tlsKey)]);
  return grpc.ServerCredentials.createSsl(null, [{ cert_chain: cert, private_key: key }], false);
}

/** grpc-js's bind error in words an operator can act on. */
function listenError(listen: string, err: Error): Error {
  if (err.message.includes("EADDRINUSE")) {
    return new ConfigError([`SVGVEC_LISTEN=${listen}: the address is in use by another process; stop it, or choose another port`]);
  }
  if (err.message.includes("EADDRNOTAVAIL") || err.message.includes("ENOTFOUND")) {
    return new ConfigError([`SVGVEC_LISTEN=${listen}: this machine has no such address; use 127.0.0.1, 0.0.0.0 or one of its own addresses`]);
  }
  if (err.message.includes("EACCES")) {
    return new ConfigError([`SVGVEC_LISTEN=${listen}: not allowed to listen there (ports below 1024 need privileges); choose a port above 1023`]);
  }
  return err;
}
