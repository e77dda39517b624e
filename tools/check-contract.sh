#!/usr/bin/env bash
# Proves the generated code is what the proto and the pinned plugins give today, and that the wire
# contract did not break since any earlier commit. Regenerates into a scratch folder and compares,
# so the working tree is never touched. Run by `npm test` (and so by CI).
set -euo pipefail
cd "$(dirname "$0")/.."
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

npx buf generate -o "$scratch"
if ! diff -r "$scratch/src/gen" src/gen; then
  echo "src/gen is stale: run \`npm run generate\` and commit the result" >&2
  exit 1
fi

# The Go client's code, from the plugins `npm run setup:go` pins into .cache/go-bin.
if [ ! -x .cache/go-bin/protoc-gen-go ] || [ ! -x .cache/go-bin/protoc-gen-go-grpc ]; then
  echo "the Go generators are missing: run \`npm run setup:go\` (or \`npm run setup:test\`)" >&2
  exit 1
fi
npx buf generate --template buf.gen.go.yaml -o "$scratch"
if ! diff -r "$scratch/clients/go/gen" clients/go/gen; then
  echo "clients/go/gen is stale: run \`npm run generate:go\` and commit the result" >&2
  exit 1
fi

# The Python client's code, from the grpcio-tools version clients/python/generate.py pins.
python3 clients/python/generate.py --check

# buf breaking against every earlier version of the proto in this history (not just HEAD~1: one
# submission can hold many commits), so no commit can break a client built from an older one. A
# checkout without history (a tarball, a shallow clone) has nothing to compare with.
if [ "$(git rev-parse --is-shallow-repository 2>/dev/null || echo none)" = "false" ]; then
  versions=0
  for commit in $(git log --format=%H -- proto); do
    npx buf breaking --against ".git#ref=$commit" || {
      echo "proto: breaking change against ${commit:0:12}; keep old field numbers and names, add new ones" >&2
      exit 1
    }
    versions=$((versions + 1))
  done
  echo "proto: no breaking change against any of its $versions earlier versions"
else
  echo "proto: no git history here, breaking-change check skipped"
fi
