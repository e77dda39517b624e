/**
 * Assertions on failed gRPC calls.
 */
import type * as grpc from "@grpc/grpc-js";

export const code = (e: unknown): grpc.status => (e as grpc.ServiceError).code;
export const details = (e: unknown): string => (e as grpc.ServiceError).details;

/** The error a call failed with; throws when it succeeded. */
export async function failure(p: Promise<unknown>): Promise<grpc.ServiceError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (e === undefined) throw new Error("expected the call to fail");
  return e as grpc.ServiceError;
}
