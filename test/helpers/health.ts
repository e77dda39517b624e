/**
 * grpc.health.v1 checks, on a connection of their own.
 */
import * as grpc from "@grpc/grpc-js";
import { service as healthService } from "grpc-health-check";

interface HealthClient {
  Check(req: { service: string }, options: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: { status: string }) => void): void;
  close(): void;
}

const Health = grpc.makeGenericClientConstructor(healthService as unknown as grpc.ServiceDefinition, "Health");

/** The serving status of service ("" for the whole server), on a new connection, within deadlineMs. */
export async function checkHealth(address: string, service = "", deadlineMs = 5_000, credentials = grpc.credentials.createInsecure()): Promise<string> {
  const client = new Health(address, credentials) as unknown as HealthClient;
  try {
    return await new Promise<string>((resolve, reject) =>
      client.Check({ service }, { deadline: Date.now() + deadlineMs }, (e, r) => (e ? reject(e) : resolve(r?.status ?? ""))),
    );
  } finally {
    client.close();
  }
}
