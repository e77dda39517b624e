/**
 * Bearer-token authentication for every RPC but health checks, as a server
 * interceptor so that no method (reflection included) can be added without it.
 */
import * as grpc from "@grpc/grpc-js";
import { UnauthenticatedError } from "../errors.js";
import type { Logger } from "../log.js";
import { startRequest } from "../metrics/metrics.js";
import { tokenCheck } from "../rpc/auth.js";
import { toServiceError } from "./grpc-adapter.js";

/** Load balancers and orchestrators probe health without credentials. */
const OPEN_PREFIX = "/grpc.health.v1.Health/";

export function authInterceptor(tokens: readonly string[], log: Logger): grpc.ServerInterceptor {
  const check = tokenCheck(tokens, "metadata");
  return (method, call) =>
    new grpc.ServerInterceptingCall(call, {
      start: (next) => {
        next({
          onReceiveMetadata: (metadata, mdNext) => {
            if (method.path.startsWith(OPEN_PREFIX)) return mdNext(metadata);
            const values = metadata.get("authorization");
            const problem = check(values.length === 0 ? undefined : String(values[0]));
            if (problem === undefined) return mdNext(metadata);
            const err = toServiceError(new UnauthenticatedError(problem), log, method.path);
            startRequest("grpc", method.path)(err.code ?? grpc.status.UNAUTHENTICATED);
            call.sendStatus({ code: err.code ?? grpc.status.UNAUTHENTICATED, details: err.details ?? problem, metadata: new grpc.Metadata() });
          },
        });
      },
    });
}
