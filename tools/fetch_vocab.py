"""Puts CLIP's BPE vocabulary where the model generator looks for it.

The generator prefers ../shared/clip/ beside the checkout. A clone anywhere
else has no such folder, so this takes the same file (checked by sha256) out of
the OpenCLIP wheel from the package index, without installing OpenCLIP or its
dependencies.

Usage: python tools/fetch_vocab.py   (run by `npm run setup:python`)
"""
import glob
import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile

NAME = "bpe_simple_vocab_16e6.txt.gz"
SHA256 = "924691ac288e54409236115652ad4aa250f48203de50a9e4722a6ecd48d6804a"
WHEEL = "open_clip_torch==3.3.0"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(ROOT, "..", "shared", "clip", NAME)
CACHED = os.path.join(ROOT, ".cache", "clip", NAME)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def main() -> int:
    for path in (SHARED, CACHED):
        if os.path.exists(path):
            with open(path, "rb") as f:
                if sha256(f.read()) == SHA256:
                    return 0
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", WHEEL, "-d", tmp], check=True)
        with zipfile.ZipFile(glob.glob(os.path.join(tmp, "*.whl"))[0]) as wheel:
            data = wheel.read(f"open_clip/{NAME}")
    if sha256(data) != SHA256:
        print(f"{WHEEL} holds a {NAME} with sha256 {sha256(data)}, expected {SHA256}", file=sys.stderr)
        return 1
    os.makedirs(os.path.dirname(CACHED), exist_ok=True)
    with open(CACHED + ".part", "wb") as f:
        f.write(data)
    os.replace(CACHED + ".part", CACHED)
    print(f"CLIP vocabulary taken from {WHEEL} into {os.path.relpath(CACHED, ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
