"""Regenerates svgvec_client.v1 from proto/svgvec/v1/svgvec.proto.

Usage: python3 clients/python/generate.py          (or `npm run generate:python`)
       python3 clients/python/generate.py --check  (CI: exit 1 when the committed files are stale)

It runs the protoc bundled in grpcio-tools (no remote plugins) at the version
pinned below, so the same proto always gives byte-identical files; CI reruns it
and diffs. grpcio-tools lives in a venv of its own (.cache/python-gen, made on
first use), not in .venv: it pulls a setuptools without pkg_resources, which
milvus-lite in .venv still imports.

grpc_tools writes `from svgvec.v1 import svgvec_pb2`, an import that only works
with the output folder on sys.path, so the service module is rewritten to
import its messages relatively from inside svgvec_client.v1.
"""

from __future__ import annotations

import filecmp
import os
import shutil
import subprocess
import sys
import tempfile

# Bump together with the protobuf and grpcio lower bounds in pyproject.toml:
# the generated code refuses older runtimes (protoc 35.1 -> protobuf >= 7.35.1).
GRPCIO_TOOLS_VERSION = "1.85.1"

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TOOL_VENV = os.path.join(ROOT, ".cache", "python-gen")
PROTO_ROOT = os.path.join(ROOT, "proto")
PROTO = "svgvec/v1/svgvec.proto"
OUT = os.path.join(HERE, "src", "svgvec_client", "v1")

GENERATED_IMPORT = "from svgvec.v1 import svgvec_pb2 as"
PACKAGE_IMPORT = "from . import svgvec_pb2 as"

INIT = '''"""Generated protobuf messages and gRPC stub for svgvec.v1 (do not edit).

Regenerate with `npm run generate:python`; the hand-written client is svgvec_client.SvgVecClient.
"""
'''


def tool_python() -> str:
    """The tool venv's python, with grpcio-tools at the pinned version (installed when missing)."""
    python = os.path.join(TOOL_VENV, "bin", "python")
    if not os.path.exists(python):
        subprocess.run([sys.executable, "-m", "venv", TOOL_VENV], check=True)
    found = subprocess.run(
        [python, "-c", "from importlib import metadata as m; print(m.version('grpcio-tools'))"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    if found != GRPCIO_TOOLS_VERSION:
        subprocess.run(
            [python, "-m", "pip", "install", "-q", "--disable-pip-version-check", f"grpcio-tools=={GRPCIO_TOOLS_VERSION}"],
            check=True,
        )
    return python


def generate(out: str) -> None:
    """Writes the svgvec_client.v1 package into out (an empty folder)."""
    python = tool_python()
    with tempfile.TemporaryDirectory() as tmp:
        # `python -m grpc_tools.protoc` adds the well-known types' include path itself.
        rc = subprocess.run(
            [
                python,
                "-m",
                "grpc_tools.protoc",
                f"-I{PROTO_ROOT}",
                f"--python_out={tmp}",
                f"--pyi_out={tmp}",
                f"--grpc_python_out={tmp}",
                PROTO,
            ]
        ).returncode
        if rc != 0:
            raise SystemExit(f"protoc failed on {PROTO} (exit {rc}); its message is above")
        gen = os.path.join(tmp, "svgvec", "v1")
        grpc_module = os.path.join(gen, "svgvec_pb2_grpc.py")
        with open(grpc_module, encoding="utf-8") as f:
            text = f.read()
        if text.count(GENERATED_IMPORT) != 1:
            raise SystemExit(
                f"{grpc_module} no longer imports its messages as `{GENERATED_IMPORT} ...`: "
                f"grpcio-tools changed its output, so update the rewrite in {os.path.relpath(__file__, ROOT)}"
            )
        with open(grpc_module, "w", encoding="utf-8") as f:
            f.write(text.replace(GENERATED_IMPORT, PACKAGE_IMPORT))
        for name in sorted(os.listdir(gen)):
            shutil.copyfile(os.path.join(gen, name), os.path.join(out, name))
    with open(os.path.join(out, "__init__.py"), "w", encoding="utf-8") as f:
        f.write(INIT)


def committed_files() -> list[str]:
    # Python leaves __pycache__ beside the modules it imported; it is not generated output.
    return sorted(n for n in os.listdir(OUT) if n != "__pycache__") if os.path.isdir(OUT) else []


def main(argv: list[str]) -> int:
    check = argv == ["--check"]
    if argv and not check:
        print("usage: generate.py [--check]", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as fresh:
        generate(fresh)
        names = sorted(os.listdir(fresh))
        if check:
            same = names == committed_files() and all(
                filecmp.cmp(os.path.join(fresh, n), os.path.join(OUT, n), shallow=False) for n in names
            )
            if not same:
                print(
                    f"{os.path.relpath(OUT, ROOT)} is stale: run `npm run generate:python` and commit the result",
                    file=sys.stderr,
                )
                return 1
            print(f"{os.path.relpath(OUT, ROOT)} is current (grpcio-tools {GRPCIO_TOOLS_VERSION})")
            return 0
        # The folder is wholly generated: replace it so a file protoc stops writing does not linger.
        shutil.rmtree(OUT, ignore_errors=True)
        shutil.copytree(fresh, OUT)
    print(f"generated {os.path.relpath(OUT, ROOT)} with grpcio-tools {GRPCIO_TOOLS_VERSION}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
