#!/usr/bin/env bash
# The GPU rows of benchmarks/run.py in one prepared run, for a lent accelerator machine
# (one call, well under its 10-minute limit). It uses that machine's own jax, equinox and
# optax (cax_zoo is pure Python and runs from this checkout); CAX, the peer, travels as a
# wheel. Results land in $OUT: machine.txt, rows.md (the table as printed) and rows.json.
#
# Here, once (the wheel folder is git-ignored through .git/info/exclude):
#   echo /.whl/ >> .git/info/exclude
#   python -m pip download --no-deps --only-binary=:all: --python-version 3.12 -d .whl cax==0.3.3
# On the machine (carry: .whl):
#   bash benchmarks/device.sh                       # life, eca and train rows
#   ONLY=train MATCH="grown states" bash benchmarks/device.sh
# ONLY, MATCH, REPEAT and NCA_STEPS pass on to benchmarks/run.py; LIMIT (seconds, default
# 540) stops the benchmark in time to return its files. The MNIST training rows and the
# Lenia row read data the machine cannot download: carry .data (a git-ignored copy of what
# they need from $CAX_ZOO_DATA, e.g. `mkdir -p .data && cp -r "$CAX_ZOO_DATA/mnist" .data/`);
# it becomes CAX_ZOO_DATA there. The Lenia row is left out by default.
set -euo pipefail
OUT=${OUT:-/tmp/cax_zoo_device}
mkdir -p "$OUT"
if compgen -G ".whl/*.whl" > /dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
    export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
export PYTHONPATH=$PWD:$PYTHONPATH PYTHONUNBUFFERED=1
if [ -d .data ]; then
    export CAX_ZOO_DATA=$PWD/.data
fi
{
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "no nvidia-smi"
    python3 -c "import jax; print('jax', jax.__version__, jax.devices())"
} | tee "$OUT/machine.txt"
args=(--only "${ONLY:-life,eca,train}" --repeat "${REPEAT:-3}" --nca-steps "${NCA_STEPS:-96}" --json "$OUT/rows.json")
if [ -n "${MATCH:-}" ]; then
    args+=(--match "$MATCH")
fi
set -o pipefail
timeout "${LIMIT:-540}" python3 benchmarks/run.py "${args[@]}" 2>&1 | tee "$OUT/rows.md"
