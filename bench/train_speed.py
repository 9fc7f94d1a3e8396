"""Training speed of the original's default configuration: 64 px, lite, hybrid norm, self-attention,
batch 8, mixup-LSGAN; with and without the perceptual loss.

Prints seconds per iteration and images/s (steady state, real augmented batches from
../shared/data clips prepared on the fly), the FLOPs of one iteration (torch.utils.flop_counter), and
the fraction of this machine's float32 GEMM rate that reaches (a large matmul measured in the same run).
For reference, the original Keras code needs about 2.1 s per iteration for this configuration without
the perceptual loss on the 2-core development machine (84 GFLOP/s, 39 % of its ~215 GFLOP/s GEMM).

    .venv/bin/python bench/train_speed.py [--iterations 6] [--device cpu|cuda] [--precisions fp32,bf16]
        [--layouts channels_last,contiguous] [--compile off,on]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from faceswap_gan.benchmark import cpu_line
from faceswap_gan.config import ExtractConfig, LossWeights, ModelConfig, TrainConfig
from faceswap_gan.extract import prepare_dataset
from faceswap_gan.nets.attention import attention_path, kernel_available
from faceswap_gan.nets.model import FaceSwapModel
from faceswap_gan.nets.perceptual import load_perceptual
from faceswap_gan.runtime import Runtime, resolve_precision, setup_runtime
from faceswap_gan.training.compiled import compile_parts
from faceswap_gan.training.data import FaceSet
from faceswap_gan.training.schedule import LossPhase
from faceswap_gan.training.step import TrainParts, face_samples, make_optimisers, training_step

CLIPS = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "clips"


def gemm_rate(device: torch.device, n: int = 4096, repeats: int = 5) -> float:
    """float32 FLOP/s of an n x n matmul (best of ``repeats``)."""
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    a @ b
    best = float("inf")
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        a @ b
        if device.type == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iterations", type=int, default=6)
    parser.add_argument("--device", default="auto")
    parser.add_argument(
        "--precisions",
        default="fp32,bf16",
        help="comma-separated --precision values, measured step by step in turn; bf16-fp32-attention is bf16 "
        "with our attention kernel kept float32 (FACESWAP_GAN_ATTENTION=fp32), to see what its bf16 build gains",
    )
    parser.add_argument(
        "--layouts",
        default="channels_last",
        help="comma-separated memory layouts of model and batches: channels_last (what training uses), contiguous",
    )
    parser.add_argument(
        "--compile",
        default="off",
        help="comma-separated: off (eager), on (generator and discriminators through torch.compile, as training's "
        "--compile; compiling is not timed, the steps after it are)",
    )
    parser.add_argument(
        "--keep-denormals", action="store_true", help="measure without flushing denormals (what it costs this CPU)"
    )
    args = parser.parse_args()
    if "on" in args.compile.split(",") and "-fp32-attention" in args.precisions:
        # the attention path is a constant of a compiled graph, and the variants would share one graph
        parser.error("--compile on measures the attention path training takes: leave out bf16-fp32-attention")
    runtime = setup_runtime(args.device)
    if args.keep_denormals:  # before PyTorch starts its threads, which copy this thread's setting
        torch.set_flush_denormal(False)
    model_config = ModelConfig(64, "lite", "hybrid", True)
    with tempfile.TemporaryDirectory() as tmp:
        prepare_dataset(CLIPS / "d6.mp4", CLIPS / "d18.mp4", tmp, ExtractConfig(every=8), progress=False)
        faces = FaceSet.from_data_dir(Path(tmp), "src"), FaceSet.from_data_dir(Path(tmp), "dst")
        config = TrainConfig(batch_size=8, device=args.device)
        datasets = face_samples(*faces, model_config, config)
        batches = [
            [torch.stack(t) for t in zip(*[ds[i * 8 + k] for k in range(8)], strict=True)]
            for i in range(args.iterations + 1)
            for ds in datasets
        ]
    peak = gemm_rate(runtime.device)
    print(cpu_line())
    print(f"device {runtime.device}, torch {torch.__version__}, {torch.get_num_threads()} threads; "
          f"float32 GEMM {peak / 1e9:.0f} GFLOP/s; our attention kernel: {kernel_available()}")  # fmt: skip
    # Every variant does one step in turn, so that a machine whose speed drifts (a shared host) slows all
    # of them alike; each figure is the median of its steps.
    variants = {}
    for layout in args.layouts.split(","):
        for precision in args.precisions.split(","):
            for compiled in args.compile.split(","):
                for use_pl in (False, True):
                    # the bench's device at each precision and layout, not a new setup_runtime, which would
                    # flush denormals again (--keep-denormals)
                    kind = {"channels_last": Runtime, "contiguous": _ChannelFirstRuntime}[layout]
                    bf16 = resolve_precision(precision.removesuffix("-fp32-attention"), runtime.device)
                    variant_runtime = kind(runtime.device, runtime.rank, runtime.world_size, bf16)
                    variants[(layout, precision, compiled, use_pl)] = _Variant(
                        model_config, config, variant_runtime, use_pl, batches, precision.endswith("-fp32-attention"),
                        compiled == "on",
                    )  # fmt: skip
    for i in range(args.iterations + 1):
        for variant in variants.values():
            variant.step(i)
    for (layout, precision, compiled, use_pl), variant in variants.items():
        seconds = statistics.median(variant.seconds)
        variant.flops = variant.flops or variants.get((layout, precision, "off", use_pl), variant).flops
        label = f"{layout}, {precision}, {'compiled' if compiled == 'on' else 'eager'}, " + (
            "with perceptual loss (dlib)" if use_pl else "without perceptual loss   "
        )
        print(f"{label}: {seconds:.3f} s/iteration, {16 / seconds:.1f} images/s, "
              f"{variant.flops / 1e9:.0f} GFLOP/iteration, {variant.flops / seconds / 1e9:.0f} GFLOP/s = "
              f"{variant.flops / seconds / peak:.0%} of float32 GEMM peak")  # fmt: skip


class _ChannelFirstRuntime(Runtime):
    """The runtime with plain NCHW tensors, to measure what channels-last memory gains."""

    @property
    def memory_format(self) -> torch.memory_format:
        return torch.contiguous_format


class _Variant:
    """One configuration's model, optimisers and step times."""

    def __init__(
        self,
        model_config,
        config,
        runtime: Runtime,
        use_pl: bool,
        batches,
        fp32_attention: bool = False,
        compiled: bool = False,
    ) -> None:
        self.runtime = runtime
        model = self.runtime.place(FaceSwapModel(model_config))
        perceptual = self.runtime.place(load_perceptual("dlib")) if use_pl else None
        self.phase = LossPhase(0, use_pl, False, 0.0, 1.0)
        self.opt_g, self.opt_d = make_optimisers(model, config, self.phase)
        self.parts = TrainParts(
            model, model.generator, model.discriminators, perceptual, self.runtime, config, LossWeights()
        )
        self.batches, self.seconds, self.flops = batches, [], 0
        self.fp32_attention = fp32_attention
        if compiled:  # compiled now, untimed; the FLOPs are its eager twin's
            self.parts, _ = compile_parts(self.parts, [batches[:2]], self.phase, announce=False)
        self.compiled = compiled

    def step(self, i: int) -> None:
        """Step ``i``; the first (i = 0) builds kernels and caches and is counted in FLOPs, not timed."""
        sync = torch.cuda.synchronize if self.runtime.device.type == "cuda" else lambda: None

        def run() -> None:
            # the other variants run with what the caller's environment says
            with attention_path("fp32" if self.fp32_attention else None):
                training_step(
                    self.parts, self.opt_g, self.opt_d, self.batches[2 * i], self.batches[2 * i + 1], 0.3, self.phase
                )

        if i == 0 and self.compiled:  # FlopCounterMode does not see into compiled graphs
            run()
            return
        if i == 0:
            # On CPU every attention is counted at its real widths: our kernel (32x32 and 64x64 layers)
            # registers its formula and the smaller layers are plain matmuls (nets/attention.py). On GPU
            # the fused kernels have no formula: count the warm-up step on the math backend, plain bmm
            # over the same (padded) shapes.
            with FlopCounterMode(display=False) as counter, sdpa_kernel([SDPBackend.MATH]):
                run()
            self.flops = counter.get_total_flops()
            return
        sync()
        began = time.perf_counter()
        run()
        sync()
        self.seconds.append(time.perf_counter() - began)


if __name__ == "__main__":
    main()
