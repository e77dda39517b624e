/**
 * Turns rendered RGB pixels into the image encoder's input, exactly as the
 * model's visual/preprocess_cfg.json says: scale to 0..1, subtract the mean,
 * divide by the standard deviation, planar channels (CHW).
 */
import type { RenderedRgb } from "../render/render.js";

export interface PreprocessConfig {
  /** Square input size in pixels. */
  size: number;
  mean: [number, number, number];
  std: [number, number, number];
}

/** Writes one image into out (3 x size x size floats) at offset. */
export function toTensor(image: RenderedRgb, cfg: PreprocessConfig, out: Float32Array, offset = 0): void {
  const { rgb, size } = image;
  if (size !== cfg.size) throw new Error(`rendered ${size}px, model wants ${cfg.size}px`);
  const plane = size * size;
  for (let c = 0; c < 3; c++) {
    // Fold 1/255, mean and std into one multiply-add per value.
    const scale = 1 / (255 * cfg.std[c]!);
    const shift = -cfg.mean[c]! / cfg.std[c]!;
    const base = offset + c * plane;
    for (let i = 0, j = c; i < plane; i++, j += 3) out[base + i] = rgb[j]! * scale + shift;
  }
}
