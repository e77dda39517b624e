/**
 * The text encoder's worker thread dies under a running svgvec taking Search
 * calls: calls answer or fail with UNAVAILABLE (none hang, none INTERNAL),
 * health says NOT_SERVING until a new worker is up and SERVING after, and
 * Search works again without a restart of svgvec.
 */
import * as grpc from "@grpc/grpc-js";
import { service as healthService } from "grpc-health-check";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { SvgVecService } from "../../src/gen/svgvec/v1/svgvec_pb.js";
import { type TestApp, startTestApp } from "../helpers/app.js";
import { code } from "../helpers/calls.js";
import { waitFor } from "../helpers/wait.js";

interface HealthClient extends grpc.Client {
  Watch(req: { service: string }): grpc.ClientReadableStream<{ status: string }>;
}

describe("the text encoder's worker thread dies under load", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ milvusAddress: inject("liteAddress") });
  });
  afterAll(() => t.close());

  it("answers Search or UNAVAILABLE, never hangs or says INTERNAL, and health goes NOT_SERVING and back", async () => {
    const Health = grpc.makeGenericClientConstructor(healthService as unknown as grpc.ServiceDefinition, "Health");
    const health = new Health(t.app.address, grpc.credentials.createInsecure()) as unknown as HealthClient;
    // Watch, not poll: the restart of the tiny model can be over between two polls.
    const seen = new Map<string, string[]>();
    const watches = ["", SvgVecService.typeName].map((service) => {
      seen.set(service, []);
      const call = health.Watch({ service });
      call.on("data", (r: { status: string }) => seen.get(service)!.push(r.status));
      call.on("error", () => undefined);
      return call;
    });
    const history = (service: string) => seen.get(service)!.join(",");
    const every = (pattern: RegExp) => [...seen.keys()].every((s) => pattern.test(history(s)));

    // Each query its own text, so the text cache cannot answer it without the encoder.
    const outcomes: grpc.status[] = [];
    let stop = false;
    const load = async (worker: number) => {
      for (let i = 0; !stop; i++) {
        const deadline = new Date(Date.now() + 10_000);
        outcomes.push(await t.client.search({ text: `query ${worker} ${i}` }, { deadline }).then(() => grpc.status.OK, code));
      }
    };
    try {
      await waitFor(() => every(/^SERVING$/));
      const loads = [0, 1, 2, 3].map(load);
      await waitFor(() => outcomes.length >= 8, 20_000);

      await t.app.model.crashWorkerForTest("text");
      await waitFor(() => every(/^SERVING,NOT_SERVING/), 10_000);
      await waitFor(() => every(/^SERVING,NOT_SERVING,SERVING$/), 20_000);
      // The load goes on after the restart and is answered again.
      const recovered = outcomes.length;
      await waitFor(() => outcomes.slice(recovered).filter((c) => c === grpc.status.OK).length >= 8, 20_000);
      stop = true;
      await Promise.all(loads);

      const counts = new Map<string, number>();
      for (const c of outcomes) counts.set(grpc.status[c], (counts.get(grpc.status[c]) ?? 0) + 1);
      expect([...counts.keys()].filter((c) => c !== "OK" && c !== "UNAVAILABLE"), JSON.stringify([...counts])).toEqual([]);
      expect((await t.client.search({ text: "a dog" })).hits).toBeDefined();
      expect(every(/^SERVING,NOT_SERVING,SERVING$/)).toBe(true);
    } finally {
      stop = true;
      for (const w of watches) w.cancel();
      health.close();
    }
  });
});
