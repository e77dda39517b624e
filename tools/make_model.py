#!/usr/bin/env python3
"""Generate an OpenCLIP model directory in the layout of Immich's ONNX exports,
with seeded random weights and the real CLIP vocabulary.

Real weights cannot be downloaded where svgvec is developed and tested, so the
tests and benchmarks run this generator instead. The output has exactly the
files, tensor names, dtypes and shapes of an Immich export, so the code that
loads it is the code that loads the real model:

    config.json                    OpenCLIP model config (embed_dim, vision_cfg, text_cfg)
    visual/model.onnx              image float32 [N,3,S,S] -> embedding float32 [N,D], L2-normalised
    visual/preprocess_cfg.json     size, mean, std, interpolation, resize_mode
    textual/model.onnx             text int32 [N,77] -> embedding float32 [N,D], L2-normalised
    textual/tokenizer.json         Hugging Face tokenizer (CLIP BPE)
    textual/tokenizer_config.json  pad token and context length
    textual/vocab.json, merges.txt, special_tokens_map.json

Presets: `tiny` (for tests: 512-d output, small transformers) and `vit-b-32`
(the full ViT-B/32 architecture, for honest speed numbers). `--batch 1` fixes
the batch axis at 1 as Immich's exports do; `--batch dynamic` makes the batch
axis (and the text length) dynamic.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
CONTEXT = 77
SOT, EOT = "<|startoftext|>", "<|endoftext|>"
GENERATOR_VERSION = 1

PRESETS = {
    "tiny": {
        "embed_dim": 512,
        "vision_cfg": {"image_size": 224, "layers": 2, "width": 64, "patch_size": 32, "heads": 4},
        "text_cfg": {"context_length": CONTEXT, "vocab_size": 49408, "width": 64, "heads": 4, "layers": 2},
    },
    "vit-b-32": {
        "embed_dim": 512,
        "vision_cfg": {"image_size": 224, "layers": 12, "width": 768, "patch_size": 32, "heads": 12},
        "text_cfg": {"context_length": CONTEXT, "vocab_size": 49408, "width": 512, "heads": 8, "layers": 12},
    },
}

# OpenCLIP's preprocessing for laion2b_s34b_b79k (OpenAI's mean and std).
PREPROCESS = {
    "size": [224, 224],
    "mode": "RGB",
    "mean": [0.48145466, 0.4578275, 0.40821073],
    "std": [0.26862954, 0.26130258, 0.27577711],
    "interpolation": "bicubic",
    "resize_mode": "shortest",
    "fill_color": 0,
}


# ---------------------------------------------------------------- tokenizer files


def bytes_to_unicode() -> dict[int, str]:
    # GPT-2's reversible byte -> printable character table, as CLIP uses it.
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs)))


def clip_vocab(bpe_path: str) -> tuple[dict[str, int], list[str]]:
    with gzip.open(bpe_path, "rt", encoding="utf-8") as f:
        lines = f.read().split("\n")
    merges = lines[1 : 49152 - 256 - 2 + 1]
    pairs = [tuple(m.split()) for m in merges]
    units = list(bytes_to_unicode().values())
    vocab = units + [u + "</w>" for u in units] + ["".join(p) for p in pairs] + [SOT, EOT]
    return {tok: i for i, tok in enumerate(vocab)}, merges


def write_tokenizer(dir_: str, bpe_path: str, context: int = CONTEXT) -> None:
    vocab, merges = clip_vocab(bpe_path)
    assert vocab[SOT] == 49406 and vocab[EOT] == 49407 and len(vocab) == 49408
    special = lambda content, id_: {  # noqa: E731
        "id": id_, "content": content, "single_word": False, "lstrip": False,
        "rstrip": False, "normalized": True, "special": True,
    }
    # The same pipeline as Hugging Face's CLIPTokenizerFast, which Immich ships.
    tokenizer = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [special(SOT, 49406), special(EOT, 49407)],
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "NFC"},
            {"type": "Replace", "pattern": {"Regex": "\\s+"}, "content": " "},
            {"type": "Lowercase"},
        ]},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+"},
             "behavior": "Removed", "invert": True},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False},
        ]},
        "post_processor": {"type": "RobertaProcessing", "sep": [EOT, 49407], "cls": [SOT, 49406],
                           "trim_offsets": False, "add_prefix_space": False},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": EOT, "continuing_subword_prefix": "",
                  "end_of_word_suffix": "</w>", "fuse_unk": False, "byte_fallback": False,
                  "ignore_merges": False, "vocab": vocab, "merges": merges},
    }
    t = os.path.join(dir_, "textual")
    with open(os.path.join(t, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tokenizer, f, ensure_ascii=False)
    with open(os.path.join(t, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False)
    with open(os.path.join(t, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "\n".join(merges) + "\n")
    specials = {"bos_token": SOT, "eos_token": EOT, "unk_token": EOT, "pad_token": "!"}
    with open(os.path.join(t, "special_tokens_map.json"), "w", encoding="utf-8") as f:
        json.dump(specials, f, indent=2)
    with open(os.path.join(t, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump({**specials, "model_max_length": context, "do_lower_case": True,
                   "tokenizer_class": "CLIPTokenizer", "clean_up_tokenization_spaces": True}, f, indent=2)


# ---------------------------------------------------------------- graph building


class Graph:
    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.n = 0

    def name(self, hint: str) -> str:
        self.n += 1
        return f"{hint}_{self.n}"

    def const(self, value: np.ndarray, hint: str = "c") -> str:
        name = self.name(hint)
        self.inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def weight(self, shape: tuple[int, ...], std: float, hint: str) -> str:
        return self.const(self.rng.normal(0.0, std, size=shape).astype(np.float32), hint)

    def op(self, op_type: str, inputs: list[str], hint: str | None = None, **attrs) -> str:
        out = self.name(hint or op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [out], **attrs))
        return out

    def ints(self, values: list[int]) -> str:
        return self.const(np.array(values, dtype=np.int64), "shape")

    def layer_norm(self, x: str, width: int) -> str:
        gamma = self.const((1.0 + self.rng.normal(0, 0.02, size=(width,))).astype(np.float32), "ln_w")
        beta = self.const(self.rng.normal(0, 0.02, size=(width,)).astype(np.float32), "ln_b")
        return self.op("LayerNormalization", [x, gamma, beta], "ln", axis=-1, epsilon=1e-5)

    def linear(self, x: str, d_in: int, d_out: int, std: float) -> str:
        y = self.op("MatMul", [x, self.weight((d_in, d_out), std, "w")])
        return self.op("Add", [y, self.const(np.zeros(d_out, dtype=np.float32), "b")])

    def gelu(self, x: str) -> str:
        # GELU(x) = 0.5 x (1 + erf(x / sqrt 2)); onnxruntime fuses this pattern.
        e = self.op("Erf", [self.op("Div", [x, self.const(np.array(np.sqrt(2.0), dtype=np.float32))])])
        one = self.op("Add", [e, self.const(np.array(1.0, dtype=np.float32))])
        return self.op("Mul", [self.op("Mul", [x, one]), self.const(np.array(0.5, dtype=np.float32))])

    def attention(self, x: str, width: int, heads: int, mask: str | None, layers: int) -> str:
        head = width // heads
        qkv = self.linear(x, width, 3 * width, width ** -0.5)
        qkv = self.op("Reshape", [qkv, self.ints([0, 0, 3, heads, head])])
        qkv = self.op("Transpose", [qkv], perm=[2, 0, 3, 1, 4])  # [3, N, H, T, Dh]
        q, k, v = (self.op("Gather", [qkv, self.const(np.array(i, dtype=np.int64), "i")], axis=0) for i in range(3))
        scores = self.op("MatMul", [q, self.op("Transpose", [k], perm=[0, 1, 3, 2])])
        scores = self.op("Mul", [scores, self.const(np.array(head ** -0.5, dtype=np.float32))])
        if mask is not None:
            scores = self.op("Add", [scores, mask])
        probs = self.op("Softmax", [scores], axis=-1)
        out = self.op("Transpose", [self.op("MatMul", [probs, v])], perm=[0, 2, 1, 3])  # [N, T, H, Dh]
        out = self.op("Reshape", [out, self.ints([0, 0, width])])
        return self.linear(out, width, width, (width ** -0.5) * ((2 * layers) ** -0.5))

    def block(self, x: str, width: int, heads: int, mask: str | None, layers: int) -> str:
        x = self.op("Add", [x, self.attention(self.layer_norm(x, width), width, heads, mask, layers)])
        h = self.linear(self.layer_norm(x, width), width, 4 * width, (2 * width) ** -0.5)
        h = self.linear(self.gelu(h), 4 * width, width, (width ** -0.5) * ((2 * layers) ** -0.5))
        return self.op("Add", [x, h])

    def normalize(self, x: str) -> str:
        # CLIP returns unit vectors: the service's inner product is then cosine similarity.
        norm = self.op("ReduceL2", [x], keepdims=1, axes=[-1])  # opset 17: axes is an attribute
        return self.op("Div", [x, norm])

    def model(self, inputs: list, out_dim: int, batch: int | str) -> onnx.ModelProto:
        # The last node (the normalisation) gives the public output name.
        self.nodes[-1].output[0] = "embedding"
        graph = helper.make_graph(
            self.nodes, "svgvec-generated", inputs,
            [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, [batch, out_dim])],
            self.inits,
        )
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="svgvec-make-model")
        m.ir_version = 8
        return m


def visual_model(cfg: dict, embed_dim: int, batch, seed: int) -> onnx.ModelProto:
    v = cfg["vision_cfg"]
    size, patch, width, layers, heads = v["image_size"], v["patch_size"], v["width"], v["layers"], v["heads"]
    grid = size // patch
    g = Graph(np.random.default_rng(seed))
    scale = width ** -0.5
    x = g.op("Conv", ["image", g.weight((width, 3, patch, patch), (3 * patch * patch) ** -0.5, "conv1")],
             kernel_shape=[patch, patch], strides=[patch, patch])  # [N, W, G, G]
    x = g.op("Transpose", [g.op("Reshape", [x, g.ints([0, width, grid * grid])])], perm=[0, 2, 1])  # [N, G*G, W]
    # The class token, broadcast to the batch: Expand to [N, 1, W] with N read from the input.
    n = g.op("Slice", [g.op("Shape", ["image"]), g.ints([0]), g.ints([1])])
    cls_shape = g.op("Concat", [n, g.ints([1, width])], axis=0)
    cls = g.op("Expand", [g.weight((1, 1, width), scale, "class_embedding"), cls_shape])
    x = g.op("Concat", [cls, x], axis=1)
    x = g.op("Add", [x, g.weight((grid * grid + 1, width), scale, "positional_embedding")])
    x = g.layer_norm(x, width)
    for _ in range(layers):
        x = g.block(x, width, heads, None, layers)
    x = g.op("Gather", [x, g.const(np.array(0, dtype=np.int64), "i")], axis=1)  # class token
    x = g.layer_norm(x, width)
    x = g.op("MatMul", [x, g.weight((width, embed_dim), scale, "proj")])
    g.normalize(x)
    inp = helper.make_tensor_value_info("image", TensorProto.FLOAT, [batch, 3, size, size])
    return g.model([inp], embed_dim, batch)


def textual_model(cfg: dict, embed_dim: int, batch, seed: int, dynamic_length: bool) -> onnx.ModelProto:
    t = cfg["text_cfg"]
    ctx, vocab, width, layers, heads = t["context_length"], t["vocab_size"], t["width"], t["layers"], t["heads"]
    g = Graph(np.random.default_rng(seed))
    ids = g.op("Cast", ["text"], to=TensorProto.INT64)
    x = g.op("Gather", [g.weight((vocab, width), 0.02, "token_embedding"), ids], axis=0)  # [N, T, W]
    pos = g.weight((ctx, width), 0.01, "positional_embedding")
    causal = np.triu(np.full((ctx, ctx), -np.inf, dtype=np.float32), 1)
    mask = g.const(causal, "attn_mask")
    if dynamic_length:
        # A short query runs on its own tokens: slice position embeddings and mask to T.
        tlen = g.op("Slice", [g.op("Shape", ["text"]), g.ints([1]), g.ints([2])])
        pos = g.op("Slice", [pos, g.ints([0]), tlen, g.ints([0])])
        mask = g.op("Slice", [mask, g.ints([0, 0]), g.op("Concat", [tlen, tlen], axis=0), g.ints([0, 1])])
    x = g.op("Add", [x, pos])
    for _ in range(layers):
        x = g.block(x, width, heads, mask, layers)
    x = g.layer_norm(x, width)
    # Features at the end token, which has the highest id in every row (as OpenCLIP does: argmax).
    eot = g.op("ArgMax", [ids], axis=-1, keepdims=1)  # [N, 1]
    x = g.op("GatherND", [x, eot], batch_dims=1)  # [N, W]
    x = g.op("MatMul", [x, g.weight((width, embed_dim), width ** -0.5, "text_projection")])
    g.normalize(x)
    inp = helper.make_tensor_value_info("text", TensorProto.INT32, [batch, "sequence" if dynamic_length else ctx])
    return g.model([inp], embed_dim, batch)


# ---------------------------------------------------------------- main


def save(model: onnx.ModelProto, path: str) -> None:
    onnx.checker.check_model(model, full_check=True)
    onnx.save_model(model, path)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", choices=sorted(PRESETS), default="tiny")
    ap.add_argument("--batch", choices=["1", "dynamic"], default="1")
    ap.add_argument("--seed", type=int, default=20261124)
    ap.add_argument("--vocab", required=True, help="path to CLIP's bpe_simple_vocab_16e6.txt.gz")
    ap.add_argument("--out", required=True, help="model directory to write (replaced atomically)")
    args = ap.parse_args()

    cfg = PRESETS[args.preset]
    dynamic = args.batch == "dynamic"
    batch = "batch" if dynamic else 1
    parent = os.path.dirname(os.path.abspath(args.out))
    os.makedirs(parent, exist_ok=True)
    # Build in a sibling folder and rename, so an interrupted run never leaves a half model behind.
    tmp = tempfile.mkdtemp(prefix=".make-model-", dir=parent)
    os.makedirs(os.path.join(tmp, "visual"))
    os.makedirs(os.path.join(tmp, "textual"))
    config = {"embed_dim": cfg["embed_dim"],
              "vision_cfg": {k: v for k, v in cfg["vision_cfg"].items() if k != "heads"},
              "text_cfg": cfg["text_cfg"]}
    with open(os.path.join(tmp, "config.json"), "w") as f:
        json.dump(config, f)
    with open(os.path.join(tmp, "visual", "preprocess_cfg.json"), "w") as f:
        json.dump(PREPROCESS, f, indent=2)
    write_tokenizer(tmp, args.vocab)
    save(visual_model(cfg, cfg["embed_dim"], batch, args.seed), os.path.join(tmp, "visual", "model.onnx"))
    save(textual_model(cfg, cfg["embed_dim"], batch, args.seed + 1, dynamic),
         os.path.join(tmp, "textual", "model.onnx"))
    with open(os.path.join(tmp, "GENERATED.json"), "w") as f:
        json.dump({"generator": GENERATOR_VERSION, "preset": args.preset, "batch": args.batch,
                   "seed": args.seed, "note": "random weights: embeddings carry no meaning"}, f, indent=2)
    if os.path.exists(args.out):
        old = args.out + ".old-" + hashlib.sha1(tmp.encode()).hexdigest()[:8]
        os.rename(args.out, old)
        os.rename(tmp, args.out)
        import shutil
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(tmp, args.out)
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
