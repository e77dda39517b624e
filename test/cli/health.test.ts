/**
 * svgvec health, the command docker-compose.yml's health check runs: exit 0
 * only when the server's grpc.health.v1 says SERVING, without a token on a
 * server that requires one, and exit 1 for NOT_SERVING, an unknown service or
 * no server.
 */
import { createServer, type AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type GrpcServer, startGrpcServer } from "../../src/grpc/server.js";
import { createLogger } from "../../src/log.js";
import { createSvgVecImpl } from "../../src/rpc/svgvec-impl.js";
import { type TestApp, startTestApp } from "../helpers/app.js";
import { jsonLines, svgvec } from "../helpers/cli-run.js";

const TOKEN = "health-token-0123456789abcdef";

describe("svgvec health", () => {
  let t: TestApp;
  /** svgvec's own gRPC server on another port, told that it is not serving (as while an encoder restarts). */
  let notServing: GrpcServer;

  beforeAll(async () => {
    t = await startTestApp({ milvusAddress: inject("liteAddress"), env: { SVGVEC_AUTH_TOKENS: TOKEN }, client: { token: TOKEN } });
    notServing = await startGrpcServer({ listen: "127.0.0.1:0", access: t.config.access }, createSvgVecImpl(t.app.service), createLogger("error"));
    notServing.setServing(false);
  });
  afterAll(async () => {
    await notServing.close(0);
    await t.close();
  });

  it("exits 0 and prints SERVING for a serving server, with no token although the server requires one", async () => {
    const address = t.app.address;
    expect(await svgvec(["health", "--address", address])).toEqual({ code: 0, stdout: "SERVING\n", stderr: "" });
    expect(await svgvec(["health"], { env: { SVGVEC_ADDRESS: address } })).toMatchObject({ code: 0, stdout: "SERVING\n" });
    expect(await svgvec(["health", "--address", address, "--token", TOKEN, "--service", "svgvec.v1.SvgVecService"])).toMatchObject({
      code: 0,
      stdout: "SERVING\n",
    });
    const json = await svgvec(["health", "--address", address, "--json"]);
    expect(json.code).toBe(0);
    expect(jsonLines(json)).toEqual([{ service: "", status: "SERVING" }]);
    // The same server does refuse other calls without the token: health is the exemption, not an open server.
    const stats = await svgvec(["stats", "--address", address]);
    expect(stats.code).toBe(1);
    expect(stats.stderr).toContain("UNAUTHENTICATED");
  });

  it("exits 1 when the server says NOT_SERVING, printing the status and saying why on stderr", async () => {
    const run = await svgvec(["health", "--address", notServing.address]);
    expect(run).toEqual({ code: 1, stdout: "NOT_SERVING\n", stderr: `svgvec health: svgvec at ${notServing.address} is NOT_SERVING, not SERVING\n` });
    const json = await svgvec(["health", "--address", notServing.address, "--json"]);
    expect(json.code).toBe(1);
    expect(jsonLines(json)).toEqual([{ service: "", status: "NOT_SERVING" }]);
  });

  it("exits 1 for a service the server does not know", async () => {
    const run = await svgvec(["health", "--address", t.app.address, "--service", "no.such.Service"]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(/^svgvec health: .*\(NOT_FOUND\)\n$/);
  });

  it("exits 1 naming the address when nothing listens there", async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((r) => server.close(() => r()));
    const run = await svgvec(["health", "--address", `127.0.0.1:${port}`]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(new RegExp(`^svgvec health: cannot reach svgvec at 127\\.0\\.0\\.1:${port}: .*\\(UNAVAILABLE\\)`));
  });

  it("exits 2 for usage errors and prints its help", async () => {
    const extra = await svgvec(["health", "now"]);
    expect(extra.code).toBe(2);
    expect(extra.stderr).toMatch(/health takes no arguments/);
    const help = await svgvec(["health", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: svgvec health/);
    expect(help.stdout).toContain("--address HOST:PORT");
  });
});
