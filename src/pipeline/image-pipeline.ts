/**
 * URL in, embedding out: download, render, preprocess, encode.
 */
import type { FetchConfig, RenderConfig } from "../config.js";
import type { ClipModel } from "./clip.js";
import { fetchSvg } from "./fetch.js";
import { toTensor } from "./preprocess.js";
import { renderSvg } from "./render.js";

export class ImagePipeline {
  constructor(
    private readonly model: ClipModel,
    private readonly fetchConfig: FetchConfig,
    private readonly renderConfig: RenderConfig,
  ) {}

  /** Renders SVG bytes into the encoder's input tensor. */
  async tensorFromSvg(bytes: Uint8Array): Promise<Float32Array> {
    const pre = this.model.info.preprocess;
    const image = await renderSvg(bytes, pre.size, this.renderConfig.background);
    const tensor = new Float32Array(3 * pre.size * pre.size);
    toTensor(image, pre, tensor);
    return tensor;
  }

  async embedUrl(url: string, signal?: AbortSignal): Promise<Float32Array> {
    const file = await fetchSvg(url, this.fetchConfig, signal);
    const tensor = await this.tensorFromSvg(file.bytes);
    const [vector] = await this.model.embedImages([tensor]);
    return vector!;
  }
}
