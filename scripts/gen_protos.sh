#!/usr/bin/env bash
# Regenerate the Python gRPC stubs from protos/**/*.proto into protos/generated/ (committed;
# never edit them by hand). tests/protos/test_stubs.py fails when the committed stubs are stale.
#
#   bash scripts/gen_protos.sh            # regenerate protos/generated/
#   bash scripts/gen_protos.sh OUT_DIR    # write the stubs to OUT_DIR instead (the test does)
#
# NSER_PYTHON picks the interpreter (default .venv/bin/python); its grpcio-tools version is
# written into the stubs, so regenerate with the locked one.
#
# Deterministic: the output depends only on the .proto files and the grpcio-tools version. The
# old stubs are replaced as a whole (no orphans from deleted protos), and only once protoc has
# succeeded.
set -euo pipefail

out_arg=${1:-}
if [ -n "$out_arg" ]; then
  mkdir -p "$out_arg"
  out_arg=$(cd "$out_arg" && pwd)
fi
cd "$(dirname "$0")/.."
out=${out_arg:-$PWD/protos/generated}
python_bin=${NSER_PYTHON:-.venv/bin/python}

protos=()
while IFS= read -r -d '' path; do
  protos+=("$path")
done < <(find protos/nser -name '*.proto' -print0 | LC_ALL=C sort -z)
if [ ${#protos[@]} -eq 0 ]; then
  echo "gen_protos: no .proto files under protos/nser" >&2
  exit 1
fi

staging=$(mktemp -d)
trap 'rm -rf "$staging"' EXIT

# -I protos makes `package nser.v1` in protos/nser/v1/ import as `nser.v1` from protos/generated.
"$python_bin" -m grpc_tools.protoc -I protos \
  --python_out="$staging" --pyi_out="$staging" --grpc_python_out="$staging" \
  "${protos[@]}"

# Every generated folder is a regular package, so `from nser.v1 import ...` works everywhere.
find "$staging/nser" -type d -exec touch {}/__init__.py \;

mkdir -p "$out"
rm -rf "$out/nser"
mv "$staging/nser" "$out/nser"
echo "gen_protos: wrote ${#protos[@]} proto(s) to ${out#"$PWD"/}/nser"
