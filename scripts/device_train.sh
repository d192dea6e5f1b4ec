#!/usr/bin/env bash
# A recipe's full-scale training on a lent accelerator machine, in one prepared call that
# ends inside the call's 10-minute limit, resumable by the next call. cax_zoo runs from this
# checkout on that machine's own jax, equinox and optax (`python3 -m cax_zoo`, nothing to
# install); data the machine cannot download travels in .data (git-ignored).
#
# Here, once:
#   echo /.data/ >> .git/info/exclude; echo /.device_run/ >> .git/info/exclude
#   mkdir -p .data && cp -r "$CAX_ZOO_DATA/mnist" .data/        # what the recipe reads
# On the machine (carry .data; and .device_run to resume what an earlier call left):
#   bash scripts/device_train.sh mnist_self_classify
#   bash scripts/device_train.sh growing_nca/lizard --config damage=0
# Everything after NAME goes to `cax-zoo train NAME`. LIMIT (seconds, default 480) stops
# the training with SIGINT, which checkpoints it, in time to return the files. RESUME (default
# .device_run) is the folder an earlier call's checkpoint is resumed from; PYTHON (default
# python3) the interpreter.
#
# $OUT receives (at most 8 files, 2 folders down): log.txt; release/ (the released folder's
# files, flat) when the run finished; else ckpt/ (checkpoint.json and the newest checkpoint).
# To resume, here: mkdir -p .device_run/checkpoints, copy ckpt/* into it, and call again
# with .device_run in carry. A checkpoint over 16 MiB cannot come back (the growing NCA's
# pool of 1,024 72x72 grids is 340 MB): such a run must finish within one call.
set -euo pipefail
NAME=${1:?usage: bash scripts/device_train.sh NAME [recipe options]}
shift
OUT=${OUT:-/tmp/cax_zoo_device}
RUN=${RUN:-/tmp/cax_zoo_run}
mkdir -p "$OUT"
rm -rf "$RUN"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
if [ -d .data ]; then
    export CAX_ZOO_DATA=$PWD/.data
fi
resume=()
RESUME=${RESUME:-.device_run}
PYTHON=${PYTHON:-python3}
if [ -f "$RESUME/checkpoints/checkpoint.json" ]; then
    cp -r "$RESUME" "$RUN"
    resume=(--resume)
fi
{
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "no nvidia-smi"
    "$PYTHON" -c "import jax; print('jax', jax.__version__, jax.devices())"
    echo "+ cax-zoo train $NAME --out $RUN --no-progress ${resume[*]} $*"
} 2>&1 | tee "$OUT/log.txt"
set +e
timeout -s INT "${LIMIT:-480}" "$PYTHON" -m cax_zoo train "$NAME" --out "$RUN" --no-progress "${resume[@]}" "$@" \
    2>&1 | tee -a "$OUT/log.txt"
status=${PIPESTATUS[0]}
set -e
echo "exit status $status" | tee -a "$OUT/log.txt"
release=
if [ -d "$RUN" ]; then
    release=$(find "$RUN" -name model.safetensors -not -path "*/checkpoints/*" -printf '%h\n' | head -n 1)
fi
if [ -n "$release" ]; then
    mkdir -p "$OUT/release"
    cp "$release"/* "$OUT/release/"
    echo "released: ${release#"$RUN"/}" | tee -a "$OUT/log.txt"
elif [ -f "$RUN/checkpoints/checkpoint.json" ]; then
    mkdir -p "$OUT/ckpt"
    cp "$RUN/checkpoints/checkpoint.json" "$OUT/ckpt/"
    newest=$("$PYTHON" -c "import json, sys; print(json.load(open(sys.argv[1]))['file'])" "$RUN/checkpoints/checkpoint.json")
    cp "$RUN/checkpoints/$newest" "$OUT/ckpt/"
    echo "checkpoint: $newest ($(du -h "$OUT/ckpt/$newest" | cut -f1))" | tee -a "$OUT/log.txt"
fi
exit "$status"
