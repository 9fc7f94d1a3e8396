"""The whole pipeline in one command (the original's Colab demo, offline): two clips -> training data
-> a short training run -> swapped videos.

Without inputs it needs no files at all: person A is Eileen Collins (scikit-image's astronaut photo),
person B Grace Hopper (matplotlib's sample photo), each filmed by a virtual camera (``samples``). Their
short run continues from ``priors/demo64.pt``, a model of this pair trained ahead of time with our own
``pretrain`` and ``train`` (``scripts/make_priors.sh``), because no model swaps faces after two minutes of a
CPU. The user's own clips train from scratch with the Colab demo's schedule, as the original did: the
generic prior gives sharp faces soon but, on the pair we measured, not the other person's
(docs/quality-findings.md).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from faceswap_gan.config import ExtractConfig, ModelConfig, TrainConfig
from faceswap_gan.convert import convert_video
from faceswap_gan.converter import ConverterConfig
from faceswap_gan.evaluate import QualityReport, evaluate_model
from faceswap_gan.extract import prepare_dataset
from faceswap_gan.io.media import count_source
from faceswap_gan.sample_clips import make_sample_clip
from faceswap_gan.train import train_model
from faceswap_gan.training.prior import BUILTIN_PATH

BUILT_IN_ITERATIONS = 120  # about a minute on a 2-core CPU: enough to see training work, not to learn a pair
DEMO_MODEL = BUILTIN_PATH.with_name("demo64.pt")  # the built-in pair, trained ahead of time (see above)


@dataclass
class DemoResult:
    swapped: Path  # A's clip with B's face
    side_by_side: Path  # source | result | mask map
    previews: Path
    loss_plot: Path
    seconds: float
    quality: QualityReport  # `faceswap-gan evaluate` of the swapped clip (its report in OUT/evaluation/)


def run_demo(
    out_dir: str | os.PathLike = "demo_out",
    src: str | os.PathLike | None = None,
    dst: str | os.PathLike | None = None,
    iterations: int | None = None,
    progress: bool = True,
    seed: int = 0,
) -> DemoResult:
    """Run extract -> train -> convert in ``out_dir``; the built-in clips when ``src``/``dst`` are not given."""
    began, out_dir = time.perf_counter(), Path(out_dir)
    for given in (src, dst):  # the user's clips are checked before minutes go into the built-in ones
        if given is not None:
            count_source(given)
    built_in = src is None and dst is None
    # 1. The two clips.
    if src is None:
        src = make_sample_clip("astronaut", out_dir / "clips" / "astronaut.mp4", 4, seed=seed, overwrite=True)
    if dst is None:
        dst = make_sample_clip("grace_hopper", out_dir / "clips" / "grace_hopper.mp4", 4, seed=seed + 1,
                               overwrite=True)  # fmt: skip
    # 2. Training data: every second frame of each clip.
    prepare_dataset(src, dst, out_dir / "data", ExtractConfig(every=2), overwrite=True, progress=progress)
    # 3. A short run of the Colab demo's model (64 px, lite, hybrid), small batches; the built-in pair from its
    #    model trained ahead of time, with the fast schedule (its face shows from the first iteration).
    total = iterations or BUILT_IN_ITERATIONS
    schedule, prior = ("fast", str(DEMO_MODEL)) if built_in else ("colab", None)
    config = TrainConfig(iterations=total, batch_size=4, schedule=schedule, display_every=max(1, total // 4), seed=seed,
                         prior=prior)  # fmt: skip
    train_model(out_dir / "data", out_dir / "run", ModelConfig(), config, progress=progress)
    # 4. A's clip with B's face, alone and beside the source and the masks.
    settings = dict(image_shape=None, color_correction="adain")
    swapped, side = out_dir / "swapped.mp4", out_dir / "side_by_side.mp4"
    for out, layout in ((swapped, "single"), (side, "triple")):
        convert_video(src, out_dir / "run", out, ConverterConfig(**settings, output_type=layout), progress=progress,
                      overwrite=True)  # fmt: skip
    previews = sorted((out_dir / "run" / "previews").iterdir())[-1]
    # 5. Did it work? The same report `faceswap-gan evaluate` writes, on the first 24 frames.
    quality = evaluate_model(out_dir / "run", src, src, dst, out_dir / "evaluation", swapped=swapped, frames=24)
    loss_plot = out_dir / "run" / "loss_plot.png"
    return DemoResult(swapped, side, previews, loss_plot, time.perf_counter() - began, quality)
