#!/usr/bin/env python3
"""Export an OpenCLIP model to a model directory in the layout of Immich's ONNX
exports, run by `svgvec model export` (src/models/export.ts), which renders the
parity inputs and checks the result with svgvec's own loader.

Immich's recipe (immich-app/immich, machine-learning/export): the visual and
text towers wrapped so that each returns the L2-normalised embedding, exported
with torch.onnx.export, input "image" float32 / "text" int32, output
"embedding"; config.json is OpenCLIP's model config and
visual/preprocess_cfg.json its preprocessing config. Immich fixes the batch
axis at 1 and the text at 77 tokens (`--batch 1` reproduces that); the default
here is a dynamic batch axis for both towers and a dynamic text length, so
svgvec can encode many images per run and a short query on its own tokens.

Protocol with the caller (one JSON object per line on the original stdout;
everything libraries print goes to stderr):
  out {"event": "exported", "torch": V, "open_clip": V}       the directory is written
  in  {"images": PATH, "count": N, "texts": [..]}             float32 [N,3,S,S] tensors, svgvec's preprocessing
  out {"event": "reference", "images": PATH, "texts": PATH}   OpenCLIP's own embeddings, float32 rows
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings

# The tokenizer writer is shared with the random-model generator beside this file.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

CONTEXT = 77


def protocol_stream():
    # Keep a handle on the real stdout for protocol lines, and send fd 1 to stderr, so that
    # progress lines printed by torch.onnx or open_clip cannot be mistaken for the protocol.
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    sys.stdout.flush()
    os.dup2(2, 1)
    return proto


def fail(message: str) -> int:
    print(f"export_openclip: {message}", file=sys.stderr)
    return 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", default="ViT-B-32")
    ap.add_argument("--pretrained", default="laion2b_s34b_b79k")
    ap.add_argument("--random-init", action="store_true", help="seeded random weights instead of --pretrained")
    ap.add_argument("--seed", type=int, default=20261124)
    ap.add_argument("--batch", choices=["1", "dynamic"], default="dynamic")
    # 18: what torch.onnx emits natively; converting down to 17 fails on its Reduce ops.
    ap.add_argument("--opset", type=int, default=18)
    ap.add_argument("--out", required=True, help="an empty directory to write the model into")
    args = ap.parse_args()
    proto = protocol_stream()

    try:
        import numpy as np
        import open_clip
        import torch
        import torch.nn.functional as F
        from open_clip.transformer import text_global_pool
    except ImportError as e:
        return fail(
            f"{e}. This Python ({sys.executable}) needs torch, open_clip_torch, onnx and onnxscript "
            f"(requirements-export.txt); leave out --python and svgvec sets up its own environment."
        )
    from make_model import write_tokenizer

    torch.manual_seed(args.seed)
    torch.set_grad_enabled(False)
    # As Immich does: the fused multi-head-attention fast path does not export.
    torch.backends.mha.set_fastpath_enabled(False)
    if open_clip.get_model_config(args.arch) is None:
        return fail(f"OpenCLIP has no model {args.arch!r}; `python -c 'import open_clip; print(open_clip.list_models())'` lists them")
    model = open_clip.create_model(
        args.arch,
        pretrained=None if args.random_init else args.pretrained,
        jit=False,
        require_pretrained=not args.random_init,
    )
    model.eval()
    tokenizer = open_clip.get_tokenizer(args.arch)
    if not isinstance(model, open_clip.CLIP) or not isinstance(tokenizer, open_clip.SimpleTokenizer):
        return fail(
            f"{args.arch} is a {type(model).__name__} with a {type(tokenizer).__name__}; svgvec serves "
            f"OpenCLIP's CLIP models with CLIP's BPE tokenizer (ViT-B-32, ViT-B-16, ViT-L-14 and their kin)"
        )
    context = int(model.context_length)
    size = model.visual.image_size
    size = size[0] if isinstance(size, (tuple, list)) else int(size)

    out = args.out
    os.makedirs(os.path.join(out, "visual"), exist_ok=True)
    os.makedirs(os.path.join(out, "textual"), exist_ok=True)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(open_clip.get_model_config(args.arch), f, indent=2)
    with open(os.path.join(out, "visual", "preprocess_cfg.json"), "w") as f:
        json.dump(open_clip.get_model_preprocess_cfg(model), f, indent=2)
    write_tokenizer(out, open_clip.tokenizer.default_bpe(), context)

    class Visual(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, image: torch.Tensor) -> torch.Tensor:
            return self.model.encode_image(image, normalize=True)

    class Textual(torch.nn.Module):
        """CLIP.encode_text, with the position embeddings and causal mask cut to the input's length.

        Up to the end token a row's features do not depend on what follows it (the mask is causal),
        and pooling reads the end token, so a query padded to its own length gives the embedding
        it gets padded to 77."""

        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, text: torch.Tensor) -> torch.Tensor:
            m = self.model
            if not dynamic:
                return m.encode_text(text, normalize=True)
            n = text.shape[1]
            cast = m.transformer.get_cast_dtype()
            x = m.token_embedding(text).to(cast) + m.positional_embedding[:n].to(cast)
            x = m.transformer(x, attn_mask=m.attn_mask[:n, :n])
            x = m.ln_final(x)
            x = text_global_pool(x, text, m.text_pool_type, eos_token_id=getattr(m, "text_eos_id", None))
            if m.text_projection is not None:
                x = m.text_projection(x) if isinstance(m.text_projection, torch.nn.Linear) else x @ m.text_projection
            return F.normalize(x, dim=-1)

    dynamic = args.batch == "dynamic"
    image = torch.randn(2 if dynamic else 1, 3, size, size)
    text = open_clip.tokenize(["a red heart", "an icon of a rocket ship"], context_length=context).to(torch.int32)
    if dynamic:
        text = text[:, :12]
    else:
        text = text[:1]
    batch = torch.export.Dim("batch", min=1, max=1024)
    length = torch.export.Dim("sequence", min=2, max=context)
    for name, module, sample, shapes in [
        ("visual", Visual(), image, {"image": {0: batch}} if dynamic else None),
        ("textual", Textual(), text, {"text": {0: batch, 1: length}} if dynamic else None),
    ]:
        print(f"export_openclip: exporting the {name} tower of {args.arch}", file=sys.stderr)
        path = os.path.join(out, name, "model.onnx")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            program = torch.onnx.export(
                module, (sample,), input_names=["image" if name == "visual" else "text"],
                opset_version=args.opset, dynamo=True, dynamic_shapes=shapes, optimize=True,
            )
        # The exporter names values after their ops, so the token lookup's output is already called
        # "embedding": move it aside before the graph's output takes that name.
        graph = program.model.graph
        output = graph.outputs[0]
        for node in graph:
            for value in node.outputs:
                if value.name == "embedding" and value is not output:
                    value.name = "token_embedding_output"
        output.name = "embedding"
        weights = sum(p.numel() * p.element_size() for p in module.parameters())
        # ONNX's protobuf tops out at 2 GiB: larger towers keep their weights beside the graph,
        # under the name Immich's larger exports use.
        if weights > 1_800_000_000:
            program.save(path, external_data=True)
            os.rename(path + ".data", os.path.join(out, name, "model.onnx_data"))
        else:
            program.save(path)
    print(json.dumps({"event": "exported", "torch": torch.__version__, "open_clip": open_clip.__version__,
                      "context": context, "size": size}), file=proto)

    line = sys.stdin.readline()
    if not line.strip():
        return 0
    req = json.loads(line)
    count = int(req["count"])
    images = torch.from_numpy(np.fromfile(req["images"], dtype=np.float32).reshape(count, 3, size, size))
    image_emb = model.encode_image(images, normalize=True).numpy().astype(np.float32)
    tokens = tokenizer(req["texts"], context_length=context)
    text_emb = model.encode_text(tokens, normalize=True).numpy().astype(np.float32)
    base = os.path.splitext(req["images"])[0]
    image_emb.tofile(base + ".torch-images.f32")
    text_emb.tofile(base + ".torch-texts.f32")
    print(json.dumps({"event": "reference", "images": base + ".torch-images.f32", "texts": base + ".torch-texts.f32",
                      "dim": int(image_emb.shape[1])}), file=proto)
    return 0


if __name__ == "__main__":
    sys.exit(main())
