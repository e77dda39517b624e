/**
 * What `svgvec model export` embeds both in OpenCLIP (PyTorch) and in the
 * exported files before it calls an export done. The SVGs are drawn and
 * preprocessed by svgvec's own renderer, so both sides see the same pixels;
 * the phrases go through each side's own tokenizer, so the check covers
 * svgvec's tokenizer and padding too.
 */

/** Small SVGs with fills, strokes, gradients, transparency and an off-square aspect ratio. */
export const PARITY_SVGS: readonly string[] = [
  `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><circle cx="32" cy="32" r="26" fill="#e53935"/></svg>`,
  `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><rect x="8" y="14" width="48" height="36" rx="6" fill="none" stroke="#1e88e5" stroke-width="5"/></svg>`,
  `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1">` +
    `<stop offset="0" stop-color="#fdd835"/><stop offset="1" stop-color="#43a047"/></linearGradient></defs>` +
    `<path d="M32 4l8 18 20 2-15 13 5 20-18-11-18 11 5-20L4 24l20-2z" fill="url(#g)" stroke="#000" stroke-width="1.5"/></svg>`,
  `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 120 40"><path d="M4 20h96l-16-12M100 20l-16 12" fill="none" stroke="#000" stroke-width="4"/></svg>`,
  `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><g opacity="0.6"><ellipse cx="24" cy="34" rx="16" ry="22" fill="#8e24aa"/>` +
    `<ellipse cx="40" cy="30" rx="16" ry="22" fill="#00acc1"/></g></svg>`,
];

/** Short and long queries, punctuation, digits, non-Latin text and an emoji; the last one runs past 77 tokens. */
export const PARITY_PHRASES: readonly string[] = [
  "a red heart",
  "an icon of a rocket ship flying over the moon",
  "Smiling face, with sunglasses!",
  "café 😀 — 123 été, 東京",
  Array.from({ length: 40 }, (_, i) => `star ${i}`).join(" "),
];
