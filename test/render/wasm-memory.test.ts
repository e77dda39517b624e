import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { capWasmMemory } from "../../src/render/wasm-memory.js";

const PAGE = 65_536;
/** (module (memory (export "memory") 1 [max])) */
function moduleWithMemory(min: number, max?: number): Uint8Array {
  const limits = max === undefined ? [0x00, min] : [0x01, min, max];
  return Uint8Array.from([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...[0x05, limits.length + 1, 0x01, ...limits],
    ...[0x07, 0x0a, 0x01, 0x06, ...Buffer.from("memory"), 0x02, 0x00],
  ]);
}
// The project's TypeScript libs (ES, no DOM) declare no WebAssembly globals; these are the ones used here.
interface Wasm {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: { memory: { grow(pages: number): number; buffer: ArrayBuffer } } };
  validate(bytes: Uint8Array): boolean;
}
const wasm = (globalThis as unknown as { WebAssembly: Wasm }).WebAssembly;
const memoryOf = (bytes: Uint8Array) => new wasm.Instance(new wasm.Module(bytes)).exports.memory;

describe("capWasmMemory", () => {
  it("lets memory grow up to the cap and no further", () => {
    expect(memoryOf(moduleWithMemory(1)).grow(100)).toBe(1);
    const memory = memoryOf(capWasmMemory(moduleWithMemory(1), 4 * PAGE));
    expect(memory.grow(3)).toBe(1);
    expect(memory.buffer.byteLength).toBe(4 * PAGE);
    expect(() => memory.grow(1)).toThrow(RangeError);
  });

  it("keeps a maximum the module already had when it is lower than the cap", () => {
    const memory = memoryOf(capWasmMemory(moduleWithMemory(1, 2), 4 * PAGE));
    expect(memory.grow(1)).toBe(1);
    expect(() => memory.grow(1)).toThrow(RangeError);
  });

  it("refuses a cap below what the module needs at start, and bytes that are not WebAssembly", () => {
    expect(() => capWasmMemory(moduleWithMemory(8), 4 * PAGE)).toThrow(/needs 524288 bytes of memory at start/);
    expect(() => capWasmMemory(Buffer.from("<svg/>  "), 4 * PAGE)).toThrow(/not a WebAssembly module/);
  });

  it("leaves resvg's module valid under a cap", () => {
    const resvg = readFileSync(createRequire(import.meta.url).resolve("@resvg/resvg-wasm/index_bg.wasm"));
    const capped = capWasmMemory(resvg, 32 * 2 ** 20);
    expect(wasm.validate(capped)).toBe(true);
    expect(capped.length).toBeGreaterThan(resvg.length - 16);
  });
});
