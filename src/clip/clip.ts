/**
 * The CLIP image and text encoders, run by onnxruntime-node from a model
 * directory in the Immich export layout. Each session's batch axis is read from
 * the file: Immich's exports fix it at 1 (one image per run), other exports
 * leave it dynamic (many images per run). Outputs are L2-normalised again here,
 * so a model that forgets to normalise still gives cosine similarities.
 */
import { availableParallelism } from "node:os";
import { ModelError } from "../errors.js";
import type { ModelDir } from "../models/model-dir.js";
import { OrtWorkerSession } from "./ort-session.js";
import type { PreprocessConfig } from "./preprocess.js";
import { ClipTokenizer } from "./tokenizer.js";

/** Largest batch sent to a model with a dynamic batch axis. */
export const MAX_DYNAMIC_BATCH = 32;

export interface ClipModelInfo {
  name: string;
  pretrained: string;
  dir: string;
  embedDim: number;
  /** Images per run the visual model accepts; undefined when its batch axis is dynamic. */
  visualBatch: number | undefined;
  /** Texts per run the text model accepts; undefined when its batch axis is dynamic. */
  textBatch: number | undefined;
  /** Whether the text model accepts sequences shorter than the context. */
  textDynamicLength: boolean;
  /** Tokens per text the model takes; undefined when its text length is dynamic. */
  textLength: number | undefined;
  /** Text encoder sessions, each in a thread of its own, that run queries side by side. */
  textSessions: number;
  preprocess: PreprocessConfig;
}

interface SessionIo {
  input: string;
  inputType: "float32" | "int32" | "int64";
  output: string;
  /** Fixed batch size, or undefined when the axis is symbolic. */
  batch: number | undefined;
  /** Fixed sequence length (text only), or undefined when symbolic. */
  length: number | undefined;
}

/**
 * Each encoder runs in a worker thread of its own (ort-worker.ts), so a long
 * image batch never delays a text query, and neither blocks the main thread.
 * The text encoder may have several sessions, each in its own thread, so that
 * queries on a model with a fixed batch of 1 can run side by side.
 */
export class ClipModel {
  /** Runs in flight per text session, to send each run to the least busy one. */
  private readonly textBusy: number[];
  /** Runs started per text session, for stats and tests. */
  private readonly textRuns: number[];

  private constructor(
    private readonly visual: OrtWorkerSession,
    private readonly textual: readonly OrtWorkerSession[],
    private readonly visualIo: SessionIo,
    private readonly textualIo: SessionIo,
    readonly tokenizer: ClipTokenizer,
    readonly info: ClipModelInfo,
  ) {
    this.textBusy = textual.map(() => 0);
    this.textRuns = textual.map(() => 0);
  }

  /**
   * Loads both encoders. intraOpThreads 0 lets onnxruntime decide, except that
   * several text sessions share the cores between them (one thread each on two cores).
   */
  static async load(dir: ModelDir, intraOpThreads: number, textSessions = 1): Promise<ClipModel> {
    const textThreads = intraOpThreads > 0 || textSessions === 1 ? intraOpThreads : Math.max(1, Math.floor(availableParallelism() / textSessions));
    const started = await Promise.allSettled([
      OrtWorkerSession.create(dir.visualPath, intraOpThreads, "the image encoder"),
      ...Array.from({ length: textSessions }, (_, i) =>
        OrtWorkerSession.create(dir.textualPath, textThreads, textSessions === 1 ? "the text encoder" : `text encoder session ${i + 1}`),
      ),
    ]);
    const sessions = started.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    try {
      const failed = started.find((r) => r.status === "rejected");
      if (failed !== undefined) throw failed.reason;
      const [visual, ...textual] = sessions as [OrtWorkerSession, ...OrtWorkerSession[]];
      const visualIo = describeIo(visual, ["float32"]);
      const textualIo = describeIo(textual[0]!, ["int32", "int64"]);
      const tokenizer = await ClipTokenizer.fromModelDir(dir.dir, dir.contextLength);
      return new ClipModel(visual, textual, visualIo, textualIo, tokenizer, {
        name: dir.name,
        pretrained: dir.pretrained,
        dir: dir.dir,
        embedDim: dir.embedDim,
        visualBatch: visualIo.batch,
        textBatch: textualIo.batch,
        textDynamicLength: textualIo.length === undefined,
        textLength: textualIo.length,
        textSessions,
        preprocess: dir.preprocess,
      });
    } catch (e) {
      // A session left running would keep its thread, and onnxruntime aborts a process that exits under it.
      await Promise.all(sessions.map((s) => s.release()));
      throw e;
    }
  }

  /** Embeds preprocessed images (each 3 x size x size floats), in order, in one trip to the worker. */
  async embedImages(images: readonly Float32Array[]): Promise<Float32Array[]> {
    if (images.length === 0) return [];
    const { size } = this.info.preprocess;
    const chw = 3 * size * size;
    const data = new Float32Array(images.length * chw);
    images.forEach((img, i) => data.set(img, i * chw));
    const out = await this.visual.run({
      input: this.visualIo.input,
      output: this.visualIo.output,
      type: "float32",
      data,
      dims: [images.length, 3, size, size],
      chunk: this.visualIo.batch ?? MAX_DYNAMIC_BATCH,
    });
    return rows(out.data, images.length, this.info.embedDim);
  }

  /** Embeds a text query. */
  async embedText(text: string): Promise<Float32Array> {
    const [row] = await this.embedTexts([text]);
    return row!;
  }

  /** Embeds texts in one run; a dynamic-length model gets them padded to the longest, not to 77. */
  async embedTexts(texts: readonly string[]): Promise<Float32Array[]> {
    if (texts.length === 0) return [];
    const ids = texts.map((t) => this.tokenizer.ids(t));
    const length = this.textualIo.length ?? Math.max(...ids.map((r) => r.length));
    const flat = new Int32Array(texts.length * length).fill(this.tokenizer.padId);
    ids.forEach((r, i) => flat.set(r.slice(0, length), i * length));
    const data = this.textualIo.inputType === "int64" ? BigInt64Array.from(flat, (v) => BigInt(v)) : flat;
    const at = this.idlestTextSession();
    this.textBusy[at]!++;
    this.textRuns[at]!++;
    try {
      const out = await this.textual[at]!.run({
        input: this.textualIo.input,
        output: this.textualIo.output,
        type: this.textualIo.inputType,
        data,
        dims: [texts.length, length],
        chunk: this.textualIo.batch ?? MAX_DYNAMIC_BATCH,
      });
      return rows(out.data, texts.length, this.info.embedDim);
    } finally {
      this.textBusy[at]!--;
    }
  }

  /** The least busy text session among those up; while none is, the first (which fails fast, to be retried). */
  private idlestTextSession(): number {
    let best = -1;
    this.textual.forEach((session, i) => {
      if (session.ready && (best < 0 || this.textBusy[i]! < this.textBusy[best]!)) best = i;
    });
    return Math.max(best, 0);
  }

  /** Text-encoder runs started so far on each text session. */
  get textSessionRuns(): readonly number[] {
    return [...this.textRuns];
  }

  /** Whether both encoders have a live worker thread (one that stopped is restarted by its session). */
  get ready(): boolean {
    return this.visual.ready && this.textual.every((t) => t.ready);
  }

  /**
   * Calls listener whenever an encoder's worker stops, fails to restart, or is
   * back; ready is whether both encoders are up at that moment.
   */
  onStateChange(listener: (ready: boolean, reason: string) => void): void {
    for (const session of [this.visual, ...this.textual]) session.onStateChange((_, reason) => listener(this.ready, reason));
  }

  /** Makes an encoder's worker thread exit as a crash would, so tests and diagnostics can exercise the restart. */
  crashWorkerForTest(encoder: "image" | "text"): Promise<void> {
    return (encoder === "image" ? this.visual : this.textual[0]!).crashWorkerForTest();
  }

  async release(): Promise<void> {
    await Promise.all([this.visual, ...this.textual].map((s) => s.release()));
  }
}

function describeIo(session: OrtWorkerSession, inputTypes: SessionIo["inputType"][]): SessionIo {
  const { inputs, outputs } = session.metadata;
  const input = inputs[0];
  const output = outputs.find((o) => o === "embedding") ?? outputs[0];
  if (inputs.length !== 1 || input === undefined || output === undefined) {
    throw new ModelError(`${session.path} must have one tensor input and an "embedding" output`);
  }
  if (!(inputTypes as string[]).includes(input.type)) {
    throw new ModelError(`${session.path}: input "${input.name}" is ${input.type}, expected ${inputTypes.join(" or ")}`);
  }
  const fixed = (d: number | string | undefined) => (typeof d === "number" && d > 0 ? d : undefined);
  return {
    input: input.name,
    inputType: input.type as SessionIo["inputType"],
    output,
    batch: fixed(input.shape[0]),
    length: input.shape.length === 2 ? fixed(input.shape[1]) : undefined,
  };
}

function rows(data: Float32Array, count: number, dim: number): Float32Array[] {
  if (data.length !== count * dim) {
    throw new ModelError(`the model returned ${data.length} values for ${count} x ${dim}; is config.json's embed_dim right?`);
  }
  const out: Float32Array[] = [];
  for (let i = 0; i < count; i++) {
    const v = data.slice(i * dim, (i + 1) * dim);
    let sum = 0;
    for (const x of v) sum += x * x;
    const inv = sum > 0 ? 1 / Math.sqrt(sum) : 0;
    for (let j = 0; j < dim; j++) v[j] = v[j]! * inv;
    out.push(v);
  }
  return out;
}
