/**
 * Serves the transport-neutral svgvec.v1 implementation over Connect, gRPC-Web and Connect's gRPC:
 * failures become ConnectErrors through the one mapping in rpc/status.ts, and the bearer check is
 * the gRPC edge's.
 */
import type { DescMessage, DescService, MessageShape } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext, type Interceptor } from "@connectrpc/connect";
import { CancelledError, UnauthenticatedError } from "../errors.js";
import type { Logger } from "../log.js";
import { type Edge, type RequestDone, STATUS_OK, startRequest } from "../metrics/metrics.js";
import type { TokenCheck } from "../rpc/auth.js";
import { logFailure, statusMessage } from "../rpc/status.js";

type Message = MessageShape<DescMessage>;
type Fn = (req: unknown, ctx: HandlerContext) => unknown;

/** impl with every method's failures turned into ConnectErrors with svgvec's codes and messages. */
export function connectImpl<T extends object>(service: DescService, impl: T, log: Logger): T {
  const fns = impl as Record<string, unknown>;
  const wrapped: Record<string, Fn> = {};
  for (const method of service.methods) {
    const fn = fns[method.localName];
    if (typeof fn !== "function") throw new Error(`no implementation for ${service.typeName}/${method.name}`);
    const call = fn as Fn;
    const name = method.name;
    const fail = (err: unknown, ctx: HandlerContext, done: RequestDone): never => {
      const failure = toConnectError(ctx.signal.aborted && !(err instanceof ConnectError) ? cancelled(ctx, err) : err, log, name);
      done(failure.code);
      throw failure;
    };
    if (method.methodKind === "server_streaming") {
      wrapped[method.localName] = (req, ctx) =>
        (async function* () {
          const done = startRequest(edgeOf(ctx.protocolName), name);
          const messages = (call(req, ctx) as AsyncIterable<Message>)[Symbol.asyncIterator]();
          // connect-node waits for 'drain' after a write that filled the buffers, and a client that
          // disconnects then sends none: its loop never asks for the next message, nor ends this
          // one. So the call's end (its signal) ends the implementation's stream itself, which
          // releases what it holds, such as a listing's slot.
          const stop = () => {
            done(Code.Canceled);
            void messages.return?.().catch(() => undefined);
          };
          ctx.signal.addEventListener("abort", stop, { once: true });
          try {
            for (let next = await messages.next(); next.done !== true; next = await messages.next()) yield next.value;
            done(STATUS_OK);
          } catch (err) {
            fail(err, ctx, done);
          } finally {
            ctx.signal.removeEventListener("abort", stop);
            // The caller left before the end.
            done(Code.Canceled);
          }
        })();
    } else {
      wrapped[method.localName] = async (req, ctx) => {
        const done = startRequest(edgeOf(ctx.protocolName), name);
        try {
          const res: unknown = await call(req, ctx);
          done(STATUS_OK);
          return res;
        } catch (err) {
          return fail(err, ctx, done);
        }
      };
    }
  }
  return wrapped as T;
}

/** The edge a request came in on, by the protocol Connect read it with. */
function edgeOf(protocolName: string): Edge {
  return protocolName === "grpc-web" ? "grpc-web" : "connect";
}

/** A call that stopped because its caller left or its deadline passed reports that, not the read error it caused. */
function cancelled(ctx: HandlerContext, err: unknown): unknown {
  const reason: unknown = ctx.signal.reason;
  if (reason instanceof ConnectError || reason instanceof CancelledError) return reason;
  return err;
}

export function toConnectError(err: unknown, log: Logger, method: string): ConnectError {
  if (err instanceof ConnectError) return err;
  const code = logFailure(err, log, method);
  return new ConnectError(statusMessage(err), code);
}

/** Refuses every call without a valid bearer token, before it reaches the implementation. */
export function authInterceptor(check: TokenCheck, log: Logger): Interceptor {
  return (next) => async (req) => {
    const problem = check(req.header.get("authorization") ?? undefined);
    if (problem !== undefined) {
      const failure = toConnectError(new UnauthenticatedError(problem), log, req.method.name);
      // Interceptors are not told the protocol; gRPC-Web's content types all start so.
      const grpcWeb = req.header.get("content-type")?.startsWith("application/grpc-web") === true;
      startRequest(grpcWeb ? "grpc-web" : "connect", req.method.name)(failure.code);
      failure.metadata.set("www-authenticate", 'Bearer realm="svgvec"');
      throw failure;
    }
    return next(req);
  };
}
