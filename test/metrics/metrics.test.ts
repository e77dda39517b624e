/**
 * The metric module's label helpers: whatever a caller sends, label values come from fixed sets.
 */
import { describe, expect, it } from "vitest";
import { codeLabel, encoderObserver, methodLabel, registry, startRequest } from "../../src/metrics/metrics.js";
import { parseMetrics, total } from "../helpers/prometheus.js";

const scrape = async () => parseMetrics(await registry.metrics());

describe("methodLabel", () => {
  it("names svgvec.v1's methods, by name or by gRPC path, and nothing else", () => {
    expect(methodLabel("AddImage")).toBe("AddImage");
    expect(methodLabel("/svgvec.v1.SvgVecService/StreamAddImages")).toBe("StreamAddImages");
    const others = [
      "addImage",
      "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
      "/evil.Service/AddImage",
      "",
      "/svgvec.v1.SvgVecService/",
      "x".repeat(10_000),
    ];
    expect(others.map(methodLabel)).toEqual(others.map(() => "other"));
  });
});

describe("codeLabel", () => {
  it("names gRPC's codes as gRPC libraries print them, and any other number UNKNOWN", () => {
    expect([0, 3, 7, 16].map(codeLabel)).toEqual(["OK", "INVALID_ARGUMENT", "PERMISSION_DENIED", "UNAUTHENTICATED"]);
    expect(codeLabel(1)).toBe("CANCELLED");
    expect([17, -1, 1e9].map(codeLabel)).toEqual(["UNKNOWN", "UNKNOWN", "UNKNOWN"]);
  });
});

describe("startRequest", () => {
  it("counts a request once, under the first code it is given", async () => {
    const labels = { edge: "rest", method: "Search" };
    const before = await scrape();
    const done = startRequest("rest", "Search");
    done(5);
    done(0);
    startRequest("rest", "/not/a/method")(0);
    const after = await scrape();
    const moved = (name: string, match: Record<string, string>) => total(after, name, match) - total(before, name, match);
    expect(moved("svgvec_requests_total", { ...labels, code: "NOT_FOUND" })).toBe(1);
    expect(moved("svgvec_requests_total", { ...labels, code: "OK" })).toBe(0);
    expect(moved("svgvec_request_duration_seconds_count", { ...labels, code: "NOT_FOUND" })).toBe(1);
    expect(moved("svgvec_requests_total", { edge: "rest", method: "other", code: "OK" })).toBe(1);
  });
});

describe("encoderObserver", () => {
  it("adds to the queue depth gauge and observes run sizes per encoder", async () => {
    const before = await scrape();
    const text = encoderObserver("text");
    text.queued(3);
    text.ran(3);
    text.queued(-3);
    text.queued(2);
    const after = await scrape();
    const moved = (name: string) => total(after, name, { encoder: "text" }) - total(before, name, { encoder: "text" });
    const names = ["svgvec_encoder_queue_depth", "svgvec_encoder_batch_size_count", "svgvec_encoder_batch_size_sum"];
    expect(names.map(moved)).toEqual([2, 1, 3]);
    text.queued(-2);
  });
});

describe("parseMetrics (test helper)", () => {
  it("reads escaped label values and NaN", () => {
    const samples = parseMetrics('# HELP x y\nx_total{a="q\\"uote",b="back\\\\slash\\nline"} 3\nlag Nan\n');
    expect(samples).toEqual([
      { name: "x_total", labels: { a: 'q"uote', b: "back\\slash\nline" }, value: 3 },
      { name: "lag", labels: {}, value: Number.NaN },
    ]);
  });
});
