"""Training and conversion speed on a busy machine: another process keeps one core busy.

For each threading setting (environment variables read when the OpenMP runtime loads, so each one runs in
a fresh process) it measures, quiet and then beside a busy-looping process: seconds per training step of
the default 64 px model (random batches, as `faceswap-gan benchmark`) and conversion frames/s of a 720p
clip filmed from the built-in photo. The slowdown is busy / quiet; the target is at most 2.5x.

    .venv/bin/python bench/busy_machine.py [--only adaptive]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

SETTINGS = {
    "adaptive (the CLI's)": {"ADAPT": "1"},
    "2 threads": {},
    "OMP_WAIT_POLICY=PASSIVE": {"OMP_WAIT_POLICY": "PASSIVE"},
    "GOMP_SPINCOUNT=10000": {"GOMP_SPINCOUNT": "10000"},
    "1 thread": {"OMP_NUM_THREADS": "1"},
}


def _child() -> None:
    from faceswap_gan.benchmark import ORIGINAL_ITERATIONS, _film, _train_seconds
    from faceswap_gan.config import ModelConfig
    from faceswap_gan.convert import convert_video
    from faceswap_gan.converter import ConverterConfig
    from faceswap_gan.io.checkpoint import save_checkpoint
    from faceswap_gan.nets.model import FaceSwapModel
    from faceswap_gan.runtime import setup_runtime
    from faceswap_gan.training.compiled import wants_compile

    runtime = setup_runtime("cpu", "auto")  # train's default precision: bf16 on CPUs with AMX or AVX-512 BF16
    if os.environ.get("ADAPT"):
        from faceswap_gan.runtime import adapt_threads

        adapt_threads()
    # compiled where a long training run would be (--compile auto): compiling is not timed
    compiled = wants_compile("auto", runtime, ORIGINAL_ITERATIONS)
    train = _train_seconds(runtime, ModelConfig(), False, 4, compiled)
    with tempfile.TemporaryDirectory() as tmp:
        save_checkpoint(Path(tmp) / "m.pt", **FaceSwapModel(ModelConfig(), seed=0).state())
        clip = _film(Path(tmp) / "clip.mp4", 1280, 720, 150)
        config = ConverterConfig(image_shape=None, output_type="single")
        summary = convert_video(clip, Path(tmp) / "m.pt", Path(tmp) / "out.mp4", config, progress=False)
    print(json.dumps({"train_s": train, "convert_fps": summary.frames / summary.seconds, "compiled": compiled}))


def _measure(env: dict) -> dict:
    result = subprocess.run(
        [sys.executable, __file__, "--child"],
        env=os.environ | {"PYTHONPATH": str(REPO)} | env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--only", help="measure only the settings whose name contains this (e.g. adaptive)")
    args = parser.parse_args()
    if args.child:
        _child()
        return
    from faceswap_gan.benchmark import cpu_line

    print(f"{cpu_line()}; busy = one process in a busy loop beside ours")
    for name, env in SETTINGS.items():
        if args.only and args.only not in name:
            continue
        quiet = _measure(env)
        hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        try:
            time.sleep(1)
            busy = _measure(env)
        finally:
            hog.kill()
            hog.wait()
        print(
            f"{name:26s} train{' (compiled)' if quiet['compiled'] else ''} {quiet['train_s']:.3f} -> "
            f"{busy['train_s']:.3f} s/it "
            f"(x{busy['train_s'] / quiet['train_s']:.2f}); convert {quiet['convert_fps']:.1f} -> "
            f"{busy['convert_fps']:.1f} frames/s (x{quiet['convert_fps'] / busy['convert_fps']:.2f})",
            flush=True,
        )


if __name__ == "__main__":
    main()
