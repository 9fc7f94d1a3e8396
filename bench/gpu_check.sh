#!/usr/bin/env bash
# Every GPU check in one call, for a session that is lent a GPU (under 8 minutes on one H200):
#   bash bench/gpu_check.sh
# 1. the CUDA tests (bf16 autocast + channels-last training, resume, conversion, DDP on nccl);
# 2. training it/s at 64 px lite batch 8 and at 128 px, conversion at 720p and 1080p (faceswap-gan benchmark).
# Goals on one H200: >= 30 it/s at 64 px lite batch 8 (18,000 iterations in under 10 minutes) and
# >= 120 frames/s of conversion at 1080p. Figures go to $OUT (or ./gpu_out) as well as to the screen.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-gpu_out}
mkdir -p "$OUT"
PY=${PY:-.venv/bin/python}
if [ ! -x "$PY" ]; then  # a bare machine: install into a fresh venv, keeping a CUDA torch if there is one
    python3 -m venv .venv && .venv/bin/pip install --quiet -e '.[dev]' || exit 1
    PY=.venv/bin/python
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
"$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.is_available())" \
    | tee -a "$OUT/gpu.txt"
timeout 300 "$PY" -m pytest -q -m cuda -p no:cacheprovider tests/test_cuda.py 2>&1 | tee "$OUT/cuda_tests.txt"
timeout 240 "$PY" -m faceswap_gan benchmark --device cuda --json 2> "$OUT/benchmark.log" | tee "$OUT/benchmark.json"
