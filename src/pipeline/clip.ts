/**
 * The CLIP image and text encoders, run by onnxruntime-node from a model
 * directory in the Immich export layout. Each session's batch axis is read from
 * the file: Immich's exports fix it at 1 (one image per run), other exports
 * leave it dynamic (many images per run). Outputs are L2-normalised again here,
 * so a model that forgets to normalise still gives cosine similarities.
 */
import * as ort from "onnxruntime-node";
import { ModelError } from "../errors.js";
import type { ModelDir } from "../models/model-dir.js";
import type { PreprocessConfig } from "./preprocess.js";
import { ClipTokenizer } from "./tokenizer.js";

/** Largest batch sent to a model with a dynamic batch axis. */
const MAX_DYNAMIC_BATCH = 32;

export interface ClipModelInfo {
  name: string;
  pretrained: string;
  dir: string;
  embedDim: number;
  /** Images per run the visual model accepts; undefined when its batch axis is dynamic. */
  visualBatch: number | undefined;
  /** Whether the text model accepts sequences shorter than the context. */
  textDynamicLength: boolean;
  preprocess: PreprocessConfig;
}

interface SessionIo {
  input: string;
  inputType: ort.Tensor.Type;
  output: string;
  /** Fixed batch size, or undefined when the axis is symbolic. */
  batch: number | undefined;
  /** Fixed sequence length (text only), or undefined when symbolic. */
  length: number | undefined;
}

export class ClipModel {
  private constructor(
    private readonly visual: ort.InferenceSession,
    private readonly textual: ort.InferenceSession,
    private readonly visualIo: SessionIo,
    private readonly textualIo: SessionIo,
    readonly tokenizer: ClipTokenizer,
    readonly info: ClipModelInfo,
  ) {}

  static async load(dir: ModelDir, intraOpThreads: number): Promise<ClipModel> {
    const options: ort.InferenceSession.SessionOptions = {
      graphOptimizationLevel: "all",
      executionMode: "sequential",
      interOpNumThreads: 1,
      ...(intraOpThreads > 0 ? { intraOpNumThreads: intraOpThreads } : {}),
    };
    const visual = await createSession(dir.visualPath, options);
    const textual = await createSession(dir.textualPath, options);
    const visualIo = describeIo(visual, dir.visualPath, ["float32"]);
    const textualIo = describeIo(textual, dir.textualPath, ["int32", "int64"]);
    const tokenizer = await ClipTokenizer.fromModelDir(dir.dir, dir.contextLength);
    return new ClipModel(visual, textual, visualIo, textualIo, tokenizer, {
      name: dir.name,
      pretrained: dir.pretrained,
      dir: dir.dir,
      embedDim: dir.embedDim,
      visualBatch: visualIo.batch,
      textDynamicLength: textualIo.length === undefined,
      preprocess: dir.preprocess,
    });
  }

  /** Embeds preprocessed images (each 3 x size x size floats), in order. */
  async embedImages(images: readonly Float32Array[]): Promise<Float32Array[]> {
    const per = this.visualIo.batch ?? MAX_DYNAMIC_BATCH;
    const { size } = this.info.preprocess;
    const chw = 3 * size * size;
    const out: Float32Array[] = [];
    for (let start = 0; start < images.length; start += per) {
      const chunk = images.slice(start, start + per);
      const data = new Float32Array(chunk.length * chw);
      chunk.forEach((img, i) => data.set(img, i * chw));
      const feeds = { [this.visualIo.input]: new ort.Tensor("float32", data, [chunk.length, 3, size, size]) };
      const result = await this.visual.run(feeds);
      out.push(...rows(result[this.visualIo.output], chunk.length, this.info.embedDim));
    }
    return out;
  }

  /** Embeds a text query. */
  async embedText(text: string): Promise<Float32Array> {
    const ids = this.textualIo.length === undefined ? Int32Array.from(this.tokenizer.ids(text)) : this.tokenizer.encode(text);
    const tensor =
      this.textualIo.inputType === "int64"
        ? new ort.Tensor("int64", BigInt64Array.from(ids, (v) => BigInt(v)), [1, ids.length])
        : new ort.Tensor("int32", ids, [1, ids.length]);
    const result = await this.textual.run({ [this.textualIo.input]: tensor });
    const [row] = rows(result[this.textualIo.output], 1, this.info.embedDim);
    return row!;
  }

  async release(): Promise<void> {
    await this.visual.release();
    await this.textual.release();
  }
}

async function createSession(path: string, options: ort.InferenceSession.SessionOptions): Promise<ort.InferenceSession> {
  try {
    return await ort.InferenceSession.create(path, options);
  } catch (e) {
    throw new ModelError(`onnxruntime cannot load ${path}: ${(e as Error).message}`);
  }
}

function describeIo(session: ort.InferenceSession, path: string, inputTypes: ort.Tensor.Type[]): SessionIo {
  const input = session.inputMetadata[0];
  const output = session.outputMetadata.find((m) => m.name === "embedding") ?? session.outputMetadata[0];
  if (session.inputMetadata.length !== 1 || input === undefined || !input.isTensor || output === undefined) {
    throw new ModelError(`${path} must have one tensor input and an "embedding" output`);
  }
  if (!inputTypes.includes(input.type)) {
    throw new ModelError(`${path}: input "${input.name}" is ${input.type}, expected ${inputTypes.join(" or ")}`);
  }
  const fixed = (d: number | string | undefined) => (typeof d === "number" && d > 0 ? d : undefined);
  return {
    input: input.name,
    inputType: input.type,
    output: output.name,
    batch: fixed(input.shape[0]),
    length: input.shape.length === 2 ? fixed(input.shape[1]) : undefined,
  };
}

function rows(tensor: ort.Tensor | undefined, count: number, dim: number): Float32Array[] {
  if (tensor === undefined || tensor.type !== "float32") throw new ModelError("the model returned no float32 embedding");
  const data = tensor.data as Float32Array;
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
