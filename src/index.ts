/**
 * svgvec's TypeScript package: the svgvec.v1 messages, enums and schemas
 * generated from proto/svgvec/v1/svgvec.proto, and a client for the service.
 */
export * from "./gen/svgvec/v1/svgvec_pb.js";
export {
  createSvgVecClient,
  SvgVecClientOptionsError,
  type RetryOptions,
  type StreamAddItem,
  type SvgVecClient,
  type SvgVecClientOptions,
  type TlsOptions,
} from "./client/client.js";
export { ServingStatus } from "./client/health.js";
// Errors arrive as ConnectError with a Code: re-exported so callers need not depend on Connect themselves.
export { Code, ConnectError, type CallOptions } from "@connectrpc/connect";
