/**
 * Bearer-token authentication for every RPC but health checks, as a server
 * interceptor so that no method (reflection included) can be added without it.
 */
import { timingSafeEqual, createHash } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import { UnauthenticatedError } from "../errors.js";
import type { Logger } from "../log.js";
import { toServiceError } from "./status.js";

/** Load balancers and orchestrators probe health without credentials. */
const OPEN_PREFIX = "/grpc.health.v1.Health/";

export function authInterceptor(tokens: readonly string[], log: Logger): grpc.ServerInterceptor {
  // Compare digests, so the comparison takes the same time whatever the length of the guess.
  const digests = tokens.map(digest);
  const accepted = (presented: string) => {
    const d = digest(presented);
    return digests.some((t) => timingSafeEqual(t, d));
  };
  return (method, call) =>
    new grpc.ServerInterceptingCall(call, {
      start: (next) => {
        next({
          onReceiveMetadata: (metadata, mdNext) => {
            if (method.path.startsWith(OPEN_PREFIX)) return mdNext(metadata);
            const problem = check(metadata, accepted);
            if (problem === undefined) return mdNext(metadata);
            const err = toServiceError(new UnauthenticatedError(problem), log, method.path);
            call.sendStatus({ code: err.code ?? grpc.status.UNAUTHENTICATED, details: err.details ?? problem, metadata: new grpc.Metadata() });
          },
        });
      },
    });
}

function check(metadata: grpc.Metadata, accepted: (token: string) => boolean): string | undefined {
  const values = metadata.get("authorization");
  if (values.length === 0) return "this server requires a token: send metadata authorization: Bearer <token>";
  const token = bearerToken(String(values[0]));
  if (token === undefined) return "the authorization metadata must be \"Bearer <token>\"";
  if (!accepted(token)) return "the bearer token is not valid for this server";
  return undefined;
}

/** The token of an `authorization: Bearer <token>` value, or undefined when it has another shape. */
export function bearerToken(header: string): string | undefined {
  const parts = header.trim().split(/[ \t]+/);
  if (parts.length !== 2 || parts[0]?.toLowerCase() !== "bearer" || parts[1] === "") return undefined;
  return parts[1];
}

function digest(s: string): Buffer {
  return createHash("sha256").update(s).digest();
}
