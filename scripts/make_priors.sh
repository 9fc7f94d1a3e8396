#!/usr/bin/env bash
# Re-make the weights shipped in faceswap_gan/priors/ with the project's own commands (README, "Shipped
# weights"). CPU: about 95 minutes on 2 cores of an AMD EPYC (0.8-0.9 s per iteration).
#
#   bash scripts/make_priors.sh [WORK]        # WORK: scratch folder (default priors_work)
#
# faces64.pt: `pretrain` on five people of ../shared/data/clips (MIT) who are in none of the pairs we
#   report quality on (d6, d18, d3, d9, d10, d19) nor in the pair we choose settings on (d14, d20).
# demo64.pt: `train --prior faces64.pt` on the built-in demo pair (Eileen Collins -> Grace Hopper, filmed
#   by `faceswap-gan sample` with other camera seeds than the demo's own clips), then its generator.
set -euo pipefail
WORK=${1:-priors_work}
CLIPS=$(dirname "$0")/../../shared/data/clips
FSG=${FSG:-.venv/bin/faceswap-gan}
PY=${PY:-.venv/bin/python}
PRIOR_ITERATIONS=${PRIOR_ITERATIONS:-3600}
OUT=faceswap_gan/priors
mkdir -p "$WORK" "$OUT"

# 1. The generic prior. prepare takes two people at a time; s32 is paired with d0 again, so d0's faces
#    count twice in the pool.
for pair in "d0 d12" "d13 s18" "s32 d0"; do
  set -- $pair
  [ -d "$WORK/data/$1_$2/face_dst" ] || "$FSG" prepare "$CLIPS/$1.mp4" "$CLIPS/$2.mp4" --out "$WORK/data/$1_$2" --every 2 --quiet
done
"$FSG" pretrain "$WORK/data/d0_d12" "$WORK/data/d13_s18" "$WORK/data/s32_d0" --out "$OUT/faces64.pt" \
  --run "$WORK/runs/faces64" --iterations "$PRIOR_ITERATIONS" --display-every 300 --schedule fast --quiet

# 2. The demo's model: the demo pair, from the prior, schedule fast. (Not with the code discriminator: on
#    a prior's codes, which tell people apart from the start, its first steps wreck the prior.)
for who in "astronaut 10" "grace_hopper 11"; do
  set -- $who
  [ -f "$WORK/clips/$1.mp4" ] || "$FSG" sample "$1" "$WORK/clips/$1.mp4" --seconds 12 --seed "$2"
done
[ -d "$WORK/data/demo/face_dst" ] || "$FSG" prepare "$WORK/clips/astronaut.mp4" "$WORK/clips/grace_hopper.mp4" \
  --out "$WORK/data/demo" --every 2 --quiet
#    As it was made: 1,800 iterations, then the same run resumed to 3,000 (the schedule rescaled to 3,000).
"$FSG" train --data "$WORK/data/demo" --out "$WORK/runs/demo" --schedule fast --prior "$OUT/faces64.pt" \
  --iterations 1800 --display-every 150 --quiet
"$FSG" train --data "$WORK/data/demo" --out "$WORK/runs/demo" --iterations 3000 --quiet
"$PY" - "$WORK/runs/demo" "$OUT/demo64.pt" <<'EOF'
import sys
from faceswap_gan.io.checkpoint import load_model
from faceswap_gan.training.prior import save_prior

model = load_model(sys.argv[1])
about = {"pair": "astronaut (Eileen Collins) -> grace_hopper", "from": "faces64.pt", "iterations": 3000,
         "recipe": "schedule fast, batch 8: 1800 iterations, then resumed to 3000"}
save_prior(sys.argv[2], model.generator, model.config, about)
EOF
ls -la "$OUT"
