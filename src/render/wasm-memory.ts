/**
 * Gives a WebAssembly module's own memory a maximum size, so code inside it
 * cannot grow past that however hostile its input: a memory.grow beyond the
 * maximum fails, the allocator gives up and the call traps.
 *
 * Only the small memory section is rewritten; the code is left as it is.
 * (A general wasm editor would parse and re-emit the whole 2 MB renderer on
 * every worker start to change four bytes.)
 */

const PAGE_BYTES = 65_536;
const MEMORY_SECTION = 5;

/** The module's bytes with its (single, 32-bit, unshared) memory capped at maxBytes. */
export function capWasmMemory(wasm: Uint8Array, maxBytes: number): Uint8Array {
  const maxPages = Math.floor(maxBytes / PAGE_BYTES);
  if (maxPages < 1) throw new RangeError(`a WebAssembly memory cap must be at least ${PAGE_BYTES} bytes`);
  if (readU32(wasm, 0) !== 0x6d736100) throw new Error("not a WebAssembly module");
  let at = 8;
  while (at < wasm.length) {
    const id = wasm[at]!;
    const size = readLeb(wasm, at + 1);
    const contentStart = size.next;
    const contentEnd = contentStart + size.value;
    if (id === MEMORY_SECTION) {
      const content = memorySection(wasm.subarray(contentStart, contentEnd), maxPages);
      return concat([wasm.subarray(0, at), Uint8Array.of(MEMORY_SECTION), leb(content.length), content, wasm.subarray(contentEnd)]);
    }
    at = contentEnd;
  }
  throw new Error("the WebAssembly module defines no memory of its own");
}

function memorySection(content: Uint8Array, maxPages: number): Uint8Array {
  const count = readLeb(content, 0);
  if (count.value !== 1) throw new Error(`expected one WebAssembly memory, found ${count.value}`);
  const flags = content[count.next]!;
  if (flags !== 0 && flags !== 1) throw new Error(`WebAssembly memory flags ${flags} (shared or 64-bit) are not supported`);
  const min = readLeb(content, count.next + 1);
  if (min.value > maxPages) throw new RangeError(`the module needs ${min.value * PAGE_BYTES} bytes of memory at start, more than the cap`);
  const oldMax = flags === 1 ? readLeb(content, min.next).value : Number.POSITIVE_INFINITY;
  return concat([leb(1), Uint8Array.of(1), leb(min.value), leb(Math.min(oldMax, maxPages))]);
}

function readU32(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
}

function readLeb(b: Uint8Array, at: number): { value: number; next: number } {
  let value = 0;
  let scale = 1;
  for (let i = at; i < b.length && i < at + 5; i++) {
    value += (b[i]! & 0x7f) * scale;
    if ((b[i]! & 0x80) === 0) return { value, next: i + 1 };
    scale *= 128;
  }
  throw new Error("malformed WebAssembly module: bad LEB128 number");
}

function leb(value: number): Uint8Array {
  const out: number[] = [];
  do {
    const low = value % 128;
    value = Math.floor(value / 128);
    out.push(value > 0 ? low | 0x80 : low);
  } while (value > 0);
  return Uint8Array.from(out);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
