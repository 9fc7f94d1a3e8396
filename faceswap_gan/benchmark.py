"""``faceswap-gan benchmark``: how fast training, conversion and detection run on this machine, in a couple
of minutes, and how long the original's 18,000 iterations would take here.

Everything is measured on data made on the spot: training steps of the default model on random batches
(the speed of a step does not depend on the faces), conversion of a clip filmed from the built-in
astronaut photo at 720p and 1080p with sound, and MTCNN on its frames. The model is untrained: a
conversion does the same work whatever the weights.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import av
import cv2
import numpy as np
import torch

from faceswap_gan.config import LossWeights, ModelConfig, TrainConfig
from faceswap_gan.convert import convert_video
from faceswap_gan.converter import ConverterConfig
from faceswap_gan.faces.detector import DetectorSettings
from faceswap_gan.faces.mtcnn import MTCNNDetector
from faceswap_gan.io.checkpoint import save_checkpoint
from faceswap_gan.io.media import iter_frames
from faceswap_gan.io.video import VideoWriter
from faceswap_gan.nets.model import FaceSwapModel
from faceswap_gan.nets.perceptual import load_perceptual
from faceswap_gan.runtime import Runtime, cpu_flags, cpu_name, setup_runtime, usable_cores
from faceswap_gan.sample_clips import sample_photo
from faceswap_gan.training.compiled import compile_parts, wants_compile
from faceswap_gan.training.schedule import LossPhase, loss_schedule
from faceswap_gan.training.step import TrainParts, make_optimisers, training_step

FLAGS_THAT_MATTER = ("avx2", "fma", "avx512f", "avx512_bf16", "amx_tile", "amx_bf16", "asimd", "sve")
ORIGINAL_ITERATIONS = 18_000  # what the original recommends before a swap is usable


@dataclass
class BenchmarkReport:
    """What ``faceswap-gan benchmark --json`` prints (version 1)."""

    version: int = 1
    machine: dict = field(
        default_factory=dict
    )  # cpu, cores, flags, torch, device, training_precision, training_compiled
    train: dict = field(default_factory=dict)  # seconds per iteration by configuration
    eta_18000_hours: float = 0.0  # the original's 18,000 iterations with its loss schedule, in hours
    convert: dict = field(default_factory=dict)  # frames/s by resolution, whole run with start-up
    detect: dict = field(default_factory=dict)  # frames/s of MTCNN on 720p frames

    def describe(self) -> str:
        m, t = self.machine, self.train
        lines = [
            f"machine   {m['cpu']}, {m['cores']} cores, flags: {' '.join(m['flags']) or 'none of note'}",
            f"          torch {m['torch']} on {m['device']}, training in {m['training_precision']}"
            + (", compiled" if m.get("training_compiled") else ""),
            f"train     64 px lite, batch 8: {1 / t['64_lite']:.2f} it/s ({t['64_lite']:.2f} s/it); "
            f"with the perceptual loss {1 / t['64_lite_pl']:.2f} it/s",
            f"          128 px lite, batch 8: {1 / t['128_lite']:.2f} it/s ({t['128_lite']:.2f} s/it)",
            f"          18,000 iterations of the default (64 px, its schedule): about {self.eta_18000_hours:.1f} h",
        ]
        lines += [f"convert   {name}: {fps:.1f} frames/s (with sound, full-resolution detection)"
                  for name, fps in self.convert.items()]  # fmt: skip
        lines += [f"detect    MTCNN on 720p frames: {self.detect['720p_full']:.1f} frames/s "
                  f"({self.detect['720p_downscaled']:.1f} downscaled)"]  # fmt: skip
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return asdict(self)


def run_benchmark(
    device: str = "auto", quick: bool = False, precision: str = "auto", compile: str = "auto", log=print
) -> BenchmarkReport:
    """Measure; ``log`` receives a line as each part starts. ``quick`` halves the repetitions; ``precision``
    and ``compile`` are training's (``--precision``, ``--compile``): the steps are timed as a run of the
    original's 18,000 iterations would take them (compiled, not counting the compiling, where it would be)."""
    runtime = setup_runtime(device, precision)
    compiled = wants_compile(compile, runtime, ORIGINAL_ITERATIONS)
    report = BenchmarkReport(machine=_machine(runtime) | {"training_compiled": compiled})
    steps = 2 if quick else 4
    # 1. Training steps: the default model, with and without the perceptual loss, and at 128 px.
    for name, resolution, use_pl in (("64_lite", 64, False), ("64_lite_pl", 64, True), ("128_lite", 128, False)):
        log(f"training {name.replace('_', ' ')} ...")
        report.train[name] = _train_seconds(runtime, ModelConfig(resolution), use_pl, steps, compiled)
    report.eta_18000_hours = run_hours(report.train["64_lite"], report.train["64_lite_pl"], ORIGINAL_ITERATIONS)
    # 2. Conversion and detection on a filmed clip, 720p and 1080p.
    with tempfile.TemporaryDirectory() as tmp:
        model = Path(tmp) / "model.pt"
        save_checkpoint(model, **FaceSwapModel(ModelConfig(), seed=0).state())
        for name, (width, height) in (("720p", (1280, 720)), ("1080p", (1920, 1080))):
            log(f"converting {name} ...")
            clip = _film(Path(tmp) / f"{name}.mp4", width, height, 45 if quick else 90)
            config = ConverterConfig(image_shape=None, output_type="single", device=device)
            summary = convert_video(clip, model, Path(tmp) / f"out_{name}.mp4", config, progress=False)
            report.convert[name] = summary.frames / summary.seconds
        log("detecting ...")
        frames = [f.image for f in iter_frames(Path(tmp) / "720p.mp4")][: 12 if quick else 24]
        for label, downscale in (("720p_full", False), ("720p_downscaled", True)):
            detector = MTCNNDetector(DetectorSettings(20, 0.8, 0.709, downscale, 35 * 35))
            detector.detect(frames[:2])  # warm-up
            began = time.perf_counter()
            for frame in frames:
                detector.detect([frame])
            report.detect[label] = len(frames) / (time.perf_counter() - began)
    return report


def run_hours(seconds: float, seconds_with_pl: float, iterations: int, schedule: str = "train") -> float:
    """Hours for ``iterations`` of a run: the schedule's phases without the perceptual loss at ``seconds`` per
    iteration, those with it at ``seconds_with_pl``."""
    phases = loss_schedule(iterations, schedule)
    ends = [p.start for p in phases[1:]] + [iterations]
    per_phase = [
        (end - p.start) * (seconds_with_pl if p.use_pl else seconds) for p, end in zip(phases, ends, strict=True)
    ]
    return sum(per_phase) / 3600


def cpu_description() -> tuple[str, list[str]]:
    """This CPU's model name and those of its flags that change our speed (FLAGS_THAT_MATTER): what every
    speed figure has to name."""
    flags = cpu_flags()
    return cpu_name(), [f for f in FLAGS_THAT_MATTER if f in flags]


def cpu_line() -> str:
    """``cpu_description`` and the cores this process may use, as the benches under bench/ print it."""
    cpu, flags = cpu_description()
    return f"CPU: {cpu} (flags that matter: {', '.join(flags) or 'none'}), {usable_cores()} cores"


def _machine(runtime: Runtime) -> dict:
    cpu, flags = cpu_description()
    cores = usable_cores()
    device = str(runtime.device)
    if runtime.device.type == "cuda":
        device += f" ({torch.cuda.get_device_name(runtime.device)})"
    return {"cpu": cpu, "cores": cores, "flags": flags,
            "torch": torch.__version__, "device": device,
            "training_precision": "bf16" if runtime.bf16 else "fp32"}  # fmt: skip


def _train_seconds(runtime: Runtime, model_config: ModelConfig, use_pl: bool, steps: int, compiled: bool) -> float:
    """Median seconds of a training step (D and G) of batch 8 on random faces, after one warm-up step (and
    after compiling, where ``compiled``)."""
    config = TrainConfig(batch_size=8, device=str(runtime.device.type))
    model = runtime.place(FaceSwapModel(model_config))
    perceptual = runtime.place(load_perceptual("dlib")) if use_pl else None
    phase = LossPhase(0, use_pl, False, 0.0, 1.0)
    opt_g, opt_d = make_optimisers(model, config, phase)
    parts = TrainParts(model, model.generator, model.discriminators, perceptual, runtime, config, LossWeights())
    generator = torch.Generator().manual_seed(0)
    r = model_config.resolution

    def batch():
        faces = torch.rand(2, 8, 3, r, r, generator=generator) * 2 - 1
        return [faces[0], faces[1], torch.rand(8, 1, r, r, generator=generator)]

    if compiled:
        parts, _ = compile_parts(parts, [(batch(), batch())], phase, announce=False)
    times = []
    for i in range(steps + 1):
        a, b = batch(), batch()
        if runtime.device.type == "cuda":
            torch.cuda.synchronize()
        began = time.perf_counter()
        training_step(parts, opt_g, opt_d, a, b, 0.3, phase)
        if runtime.device.type == "cuda":
            torch.cuda.synchronize()
        if i:  # the first step builds kernels and caches
            times.append(time.perf_counter() - began)
    return float(np.median(times))


def _film(path: Path, width: int, height: int, frames: int, fps: int = 30) -> Path:
    """A clip of the astronaut photo drifting across a ``width`` x ``height`` frame, with a sine tone."""
    photo = sample_photo("astronaut")
    side = int(height * 0.9)
    photo = cv2.resize(photo, (side, side), interpolation=cv2.INTER_AREA)
    rate = 48000
    with VideoWriter(path, fps, width, height, audio_rate=rate) as writer:
        for i in range(frames):
            frame = np.full((height, width, 3), 90, np.uint8)
            x = int((width - side) * (0.5 + 0.3 * np.sin(i / 20)))
            y = (height - side) // 2
            frame[y : y + side, x : x + side] = photo
            writer.write(frame)
            t = (np.arange(rate // fps) + i * (rate // fps)) / rate
            tone = (0.1 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
            audio = av.AudioFrame.from_ndarray(np.stack([tone, tone]), format="fltp", layout="stereo")
            audio.sample_rate, audio.pts = rate, i * (rate // fps)
            writer.write_audio(audio)
    return path
