"""Video conversion speed and memory, end to end (decode, detect, swap, blend, encode, with audio).

Converts ../shared/data/clips/s18.mp4 (1280x720, 30 fps, with sound) with a 64 px lite model (randomly
initialised: speed does not depend on training), and reports frames/s (with start-up, then over a
long input: s18 played 4 times over, 38 s) and the peak memory of the conversion process for a short
input (2 s) and that long one.
Targets on the 2-core development machine: real time (>= 30 frames/s at 720p; the original
converted about 1.5 frames/s), memory flat in the video's length.

    .venv/bin/python bench/convert_speed.py [--auto-downscale] [--output-type single]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CLIP = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "clips" / "s18.mp4"


def _child(args: argparse.Namespace) -> None:
    """Convert in this process and print its figures as JSON (run in a fresh process per input)."""
    import resource

    from faceswap_gan.convert import convert_video
    from faceswap_gan.converter import ConverterConfig

    config = ConverterConfig(output_type=args.output_type, auto_downscale=args.auto_downscale, backend=args.backend)
    start = time.perf_counter()
    summary = convert_video(args.source, args.model, args.out, config, end=args.end, progress=False)
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"frames": summary.frames, "seconds": seconds, "peak_mb": peak_mb}))


def _run(model: Path, source: Path, out: Path, end: float | None, args: argparse.Namespace) -> dict:
    command = [sys.executable, __file__, "--child", "--model", str(model), "--source", str(source), "--out", str(out),
               "--output-type", args.output_type, "--backend", args.backend]  # fmt: skip
    command += ["--auto-downscale"] if args.auto_downscale else []
    command += ["--end", str(end)] if end else []
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def _long_clip(path: Path, repeats: int) -> None:
    """s18 repeated ``repeats`` times, sound included, into ``path``."""
    from faceswap_gan.io.media import Frame, iter_av, probe_video
    from faceswap_gan.io.video import VideoWriter

    info = probe_video(CLIP)
    with VideoWriter(path, info.fps, info.width, info.height, 20, info.audio_rate) as writer:
        for _ in range(repeats):
            for item in iter_av(CLIP):
                writer.write(item.image) if isinstance(item, Frame) else writer.write_audio(item)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--auto-downscale", action="store_true")
    parser.add_argument("--output-type", default="single", choices=["single", "combined", "triple"])
    parser.add_argument(
        "--backend", default="torch", choices=["torch", "onnx"], help="the model on PyTorch or onnxruntime"
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    for name in ("--model", "--source", "--out"):
        parser.add_argument(name, help=argparse.SUPPRESS)
    parser.add_argument("--end", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return _child(args)

    from faceswap_gan.benchmark import cpu_line
    from faceswap_gan.config import ModelConfig
    from faceswap_gan.io.checkpoint import save_checkpoint
    from faceswap_gan.nets.model import FaceSwapModel

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model = FaceSwapModel(ModelConfig(64, "lite", "hybrid", True))
        save_checkpoint(tmp / "model.pt", iteration=0, train_config={}, opt_g={}, opt_d={}, **model.state())
        print(cpu_line())
        print(f"{CLIP.name} 1280x720, 64 px lite model, output {args.output_type}, "
              f"auto-downscaling {'on' if args.auto_downscale else 'off'}, backend {args.backend}")  # fmt: skip
        full = _run(tmp / "model.pt", CLIP, tmp / "a.mp4", None, args)
        print(f"whole clip: {full['frames']} frames in {full['seconds']:.1f} s = "
              f"{full['frames'] / full['seconds']:.1f} frames/s (including start-up)")  # fmt: skip
        short = _run(tmp / "model.pt", CLIP, tmp / "b.mp4", 2.0, args)
        _long_clip(tmp / "long.mp4", 4)
        long = _run(tmp / "model.pt", tmp / "long.mp4", tmp / "c.mp4", None, args)
        print(f"long input: {long['frames']} frames in {long['seconds']:.1f} s = "
              f"{long['frames'] / long['seconds']:.1f} frames/s")  # fmt: skip
        print(f"peak memory: {short['peak_mb']:.0f} MB for {short['frames']} frames, "
              f"{long['peak_mb']:.0f} MB for {long['frames']} frames")  # fmt: skip


if __name__ == "__main__":
    main()
