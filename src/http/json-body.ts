/**
 * JSON request bodies of the HTTP port's REST routes: read within a size bound, refused when they
 * are not JSON, and decoded with a message that says where the text stopped being JSON.
 */
import { InvalidArgumentError } from "../errors.js";
import type { HttpRequest } from "./respond.js";

/**
 * A request the REST routes refuse for its HTTP framing (media type, size), before anything of
 * svgvec's sees it; domain failures go through rpc/status.ts instead.
 */
export class HttpRefusal extends Error {
  constructor(
    readonly status: number,
    /** The Connect code name the error body carries. */
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "HttpRefusal";
  }
}

export type JsonObject = Record<string, unknown>;

export interface BodyOptions {
  maxBytes: number;
  /** The body to show in messages, e.g. {"id": 1, "url": "https://example.com/a.svg"}. */
  example: string;
}

/**
 * The request's body as a JSON object. A body over maxBytes is refused without being kept; the rest
 * of it is read and dropped, so the client still gets the answer on a connection it can reuse.
 */
export async function readJsonBody(req: HttpRequest, opts: BodyOptions): Promise<JsonObject> {
  const json = await readBody(req, opts, true);
  if (json === undefined) throw new InvalidArgumentError("body", `is empty; send a JSON object, e.g. ${opts.example}`);
  return json;
}

/** As readJsonBody, but undefined for a request without a body (a DELETE whose id is in its query). */
export function readOptionalJsonBody(req: HttpRequest, opts: BodyOptions): Promise<JsonObject | undefined> {
  return readBody(req, opts, false);
}

async function readBody(req: HttpRequest, opts: BodyOptions, required: boolean): Promise<JsonObject | undefined> {
  const declared = declaredLength(req);
  if (required || (declared ?? 0) > 0) requireJsonType(req, opts.example);
  if (declared !== undefined && declared > opts.maxBytes) throw tooLarge(opts.maxBytes, declared);
  const bytes = await readBounded(req, opts.maxBytes);
  if (bytes.length === 0) return undefined;
  // A chunked or HTTP/2 body may not declare its length: it turns out to be there only now.
  if (!required && declared === undefined) requireJsonType(req, opts.example);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new InvalidArgumentError("body", "is not valid UTF-8; send JSON text encoded as UTF-8");
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new InvalidArgumentError("body", `is not valid JSON: ${jsonSyntaxError(text) ?? "it could not be parsed"}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new InvalidArgumentError("body", `must be a JSON object, e.g. ${opts.example}`);
  }
  return value as JsonObject;
}

/** The content-length the request declares: 0 without a body, undefined when it does not say. */
function declaredLength(req: HttpRequest): number | undefined {
  const length = req.headers["content-length"];
  if (length !== undefined) return /^[0-9]{1,15}$/.test(length) ? Number(length) : undefined;
  // HTTP/1.1 without content-length or transfer-encoding has no body.
  return req.httpVersionMajor < 2 && req.headers["transfer-encoding"] === undefined ? 0 : undefined;
}

function requireJsonType(req: HttpRequest, example: string): void {
  const header = req.headers["content-type"];
  const [type = "", ...params] = (header ?? "").split(";").map((p) => p.trim().toLowerCase());
  const charset = params.find((p) => p.startsWith("charset="))?.slice("charset=".length).replace(/"/g, "");
  if (type === "application/json" && (charset === undefined || charset === "utf-8" || charset === "utf8")) return;
  const got = header === undefined ? "no content-type" : `content-type ${JSON.stringify(header.slice(0, 100))}`;
  throw new HttpRefusal(
    415,
    "invalid_argument",
    `the body must be JSON in UTF-8, but the request has ${got}; send header content-type: application/json with a body like ${example}`,
  );
}

function tooLarge(maxBytes: number, size: number | undefined): HttpRefusal {
  const what = size === undefined ? "more than" : `${size} bytes;`;
  return new HttpRefusal(413, "resource_exhausted", `the body is ${what} ${maxBytes} bytes at most are accepted; send less per request`);
}

function readBounded(req: HttpRequest, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = () => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onGone);
      req.off("close", onGone);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) {
        chunks.push(chunk);
        return;
      }
      stop();
      chunks.length = 0;
      // Still flowing with no listener: the rest is read and dropped, not buffered.
      req.resume();
      reject(tooLarge(maxBytes, undefined));
    };
    const onEnd = () => {
      stop();
      resolve(Buffer.concat(chunks));
    };
    const onGone = () => {
      stop();
      reject(new HttpRefusal(499, "canceled", "the client closed the connection before its request body was complete"));
    };
    req.on("data", onData);
    req.once("end", onEnd);
    req.once("error", onGone);
    req.once("close", onGone);
  });
}

/**
 * Where text stops being JSON, as "line L, column C: expected X, found Y", or undefined when it is
 * JSON. Node's JSON.parse says what it found but not where; this single pass over the text says
 * where, in time linear in its length and without recursion, however deep the nesting.
 */
export function jsonSyntaxError(text: string): string | undefined {
  let i = 0;
  const stack: Array<"array" | "object"> = [];
  const space = () => {
    while (i < text.length && (text[i] === " " || text[i] === "\t" || text[i] === "\n" || text[i] === "\r")) i++;
  };
  const digits = (): boolean => {
    const start = i;
    while (i < text.length && text[i]! >= "0" && text[i]! <= "9") i++;
    return i > start;
  };
  // Each returns what was expected at i when the text is not JSON there, else undefined.
  const string = (): string | undefined => {
    if (text[i] !== '"') return "a string in double quotes";
    i++;
    for (;;) {
      if (i >= text.length) return 'a closing "';
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return undefined;
      }
      if (c === 0x5c) {
        const e = text[i + 1];
        if (e === "u") {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) return "four hex digits after \\u";
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) {
          i += 2;
        } else {
          i++;
          return 'an escape (\\" \\\\ \\/ \\b \\f \\n \\r \\t or \\uXXXX)';
        }
      } else if (c < 0x20) {
        return "no control character inside a string (escape it, e.g. \\n)";
      } else {
        i++;
      }
    }
  };
  const number = (): string | undefined => {
    if (text[i] === "-") i++;
    if (text[i] === "0") i++;
    else if (!digits()) return "a digit";
    if (text[i] === ".") {
      i++;
      if (!digits()) return "a digit after the decimal point";
    }
    if (text[i] === "e" || text[i] === "E") {
      i++;
      if (text[i] === "+" || text[i] === "-") i++;
      if (!digits()) return "a digit in the exponent";
    }
    return undefined;
  };
  const key = (): string | undefined => {
    space();
    if (text[i] !== '"') return "a member name in double quotes";
    const problem = string();
    if (problem !== undefined) return problem;
    space();
    if (text[i] !== ":") return "':' after the member name";
    i++;
    return undefined;
  };
  const at = (expected: string): string => {
    const before = text.slice(0, i);
    const line = before.split("\n").length;
    const column = i - before.lastIndexOf("\n");
    const found = i >= text.length ? "the end of the body" : JSON.stringify(String.fromCodePoint(text.codePointAt(i)!));
    return `line ${line}, column ${column}: expected ${expected}, found ${found}`;
  };

  for (;;) {
    // A value starts at i.
    space();
    const c = text[i];
    let problem: string | undefined;
    let opened = false;
    if (c === "{") {
      i++;
      space();
      if (text[i] === "}") i++;
      else {
        problem = key();
        stack.push("object");
        opened = true;
      }
    } else if (c === "[") {
      i++;
      space();
      if (text[i] === "]") i++;
      else {
        stack.push("array");
        opened = true;
      }
    } else if (c === '"') problem = string();
    else if (c === "-" || (c !== undefined && c >= "0" && c <= "9")) problem = number();
    else if (text.startsWith("true", i)) i += 4;
    else if (text.startsWith("false", i)) i += 5;
    else if (text.startsWith("null", i)) i += 4;
    else problem = "a value (object, array, string, number, true, false or null)";
    if (problem !== undefined) return at(problem);
    if (opened) continue;
    // After a value: close containers until one takes another member.
    for (;;) {
      space();
      const top = stack.at(-1);
      if (top === undefined) return i < text.length ? at("the end of the body after the JSON value") : undefined;
      if (text[i] === ",") {
        i++;
        if (top === "object") {
          const k = key();
          if (k !== undefined) return at(k);
        }
        break;
      }
      if (text[i] === (top === "object" ? "}" : "]")) {
        i++;
        stack.pop();
        continue;
      }
      return at(top === "object" ? "',' or '}'" : "',' or ']'");
    }
  }
}
