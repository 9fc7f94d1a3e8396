"""The ``faceswap-gan`` command: one sub-command per stage, no logic of its own.

Every error a user can fix is printed on one line (``error: ...``) with exit status 1; an
interrupt exits with 130. Nothing here prints a traceback for bad input.
"""

from __future__ import annotations

import dataclasses
import functools
import signal
import sys
from enum import Enum
from pathlib import Path

import click

from faceswap_gan import __version__
from faceswap_gan.config import DEVICES, ExtractConfig, ModelConfig, TrainConfig, choices, describe, load_config
from faceswap_gan.converter import ConverterConfig
from faceswap_gan.errors import UserError, os_error_message

EXAMPLES_EXTRACT = """
\b
Examples:
  faceswap-gan extract interview.mp4 --out work/interview
  faceswap-gan extract crowd.mp4 --out work/anna --reference anna.jpg --every 3
  faceswap-gan extract photos/ --out work/photos --size 128
"""


def _heavy(fn):
    """A command that computes: PyTorch gets only the cores other processes leave free right now
    (``runtime.adapt_threads`` says why)."""

    @functools.wraps(fn)
    def command(*args, **kwargs):
        from faceswap_gan.runtime import adapt_threads

        adapt_threads()
        return fn(*args, **kwargs)

    return command


def _option(cls: type, name: str, *flags: str, **kwargs):
    """A click option for field ``name`` of config class ``cls``, its help and ``[default: ...]`` read from
    the field. No click default: None means "not given", so that a --config file or the field decides."""
    flags = flags or (f"--{name.replace('_', '-')}",)
    if "/" in flags[0]:
        kwargs.setdefault("default", None)  # an on/off flag not given is None, not off
    default = next(f.default for f in dataclasses.fields(cls) if f.name == name)
    allowed = choices(cls, name) or (tuple(m.value for m in type(default)) if isinstance(default, Enum) else None)
    if allowed is not None:
        kwargs.setdefault("type", click.Choice([str(a) for a in allowed]))
    return click.option(*flags, name, help=describe(cls, name), **kwargs)


def _options(fn, options: list):
    for option in reversed(options):
        fn = option(fn)
    return fn


def _extract_options(fn):
    """Options shared by extract and prepare; each maps to one ExtractConfig field."""
    e = ExtractConfig
    return _options(
        fn,
        [
            click.option(
                "--config",
                "config_file",
                type=click.Path(dir_okay=False, path_type=Path),
                help="YAML file of extract settings; options given here win.",
            ),
            _option(e, "every", type=click.IntRange(min=1)),
            _option(e, "size", type=click.IntRange(32, 1024)),
            _option(e, "min_size", type=click.IntRange(min=12)),
            _option(
                e,
                "detection_threshold",
                "--detection-threshold",
                "--threshold",
                type=click.FloatRange(0, 1, min_open=True, max_open=True),
            ),
            _option(e, "auto_downscale", "--auto-downscale/--no-auto-downscale"),
            _option(e, "min_face_area", type=click.IntRange(min=0)),
            _option(e, "several_faces"),
            _option(e, "reference", type=click.Path(exists=True, dir_okay=False)),
            _option(e, "mask_method"),
            _option(e, "max_pixels", type=click.IntRange(min=1)),
            _option(e, "holdout", type=click.FloatRange(0, 0.5)),
            click.option("--overwrite", is_flag=True, help="Replace a previous result in the output folder."),
            click.option("--quiet", is_flag=True, help="No progress bar."),
        ],
    )


def _load(cls: type, config_file: Path | None, fields: dict, defaults: dict | None = None):
    """``cls`` from ``defaults`` < a YAML file (if given) < the options given here (None: not given)."""
    fields = {k: v for k, v in fields.items() if v is not None}
    if config_file is not None:
        return load_config(cls, config_file, defaults, **fields)
    try:
        return cls(**(defaults or {}) | fields)
    except ValueError as exc:
        raise UserError(f"invalid option {exc}") from exc


def _extract_config(config_file: Path | None, **fields) -> ExtractConfig:
    return _load(ExtractConfig, config_file, fields)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(__version__, prog_name="faceswap-gan")
def cli() -> None:
    """Swap the faces of two people in videos: extract -> train -> convert.

    \b
    Quick start with the built-in sample clips:
      faceswap-gan sample astronaut sample/astronaut.mp4
      faceswap-gan extract sample/astronaut.mp4 --out work/astronaut
    """


@cli.command(epilog=EXAMPLES_EXTRACT)
@click.argument("source", type=click.Path(path_type=Path))
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder: faces/{raw_faces,aligned_faces,binary_masks_eyes}/, alignments.json.",
)
@_extract_options
@_heavy
def extract(source: Path, out_dir: Path, config_file, overwrite: bool, quiet: bool, **fields) -> None:
    """Detect, align and save the faces of one person in SOURCE (a video, an image, or a folder of images)."""
    from faceswap_gan.extract import extract_faces

    config = _extract_config(config_file, **fields)
    summary = extract_faces(source, out_dir, config, overwrite=overwrite, progress=not quiet)
    click.echo(f"{source}: {summary.describe()}")
    click.echo(f"faces in {out_dir / 'faces'}, alignments in {out_dir / 'alignments.json'}")


@cli.command(
    epilog="""
\b
Examples:
  faceswap-gan prepare alice.mp4 bob.mp4 --out data/alice_bob
  faceswap-gan prepare alice_photos/ bob.mp4 --out data/ab --every 2 --size 256
"""
)
@click.argument("src", type=click.Path(path_type=Path))
@click.argument("dst", type=click.Path(path_type=Path))
@click.option(
    "--out",
    "data_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Training data folder: face_src/, face_dst/, binary_masks/face_{src,dst}_eyes/.",
)
@_extract_options
@_heavy
def prepare(src: Path, dst: Path, data_dir: Path, config_file, overwrite: bool, quiet: bool, **fields) -> None:
    """Build the training data of two people: faces of SRC (person A) and DST (person B)."""
    from faceswap_gan.extract import prepare_dataset

    config = _extract_config(config_file, **fields)
    summaries = prepare_dataset(src, dst, data_dir, config, overwrite=overwrite, progress=not quiet)
    for side, source in (("src", src), ("dst", dst)):
        click.echo(f"{side} {source}: {summaries[side].describe()}")
    click.echo(f"training data in {data_dir}")


@cli.command(
    epilog="""
\b
Examples:
  faceswap-gan masks data/alice_bob
  faceswap-gan masks work/interview --method rect
"""
)
@click.argument("data_dir", type=click.Path(path_type=Path))
@_option(ExtractConfig, "mask_method", "--method")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@_heavy
def masks(data_dir: Path, mask_method: str | None, quiet: bool) -> None:
    """(Re)compute the eye masks of the face folders in DATA_DIR (from prepare or extract)."""
    from faceswap_gan.extract import compute_masks

    method = mask_method or ExtractConfig.mask_method
    for folder, count in compute_masks(data_dir, method, progress=not quiet).items():
        click.echo(f"{folder}: {count} eye masks")


@cli.command(
    epilog="""
\b
Examples:
  faceswap-gan sample astronaut sample/astronaut.mp4
  faceswap-gan sample grace_hopper sample/hopper.mp4 --seconds 8
"""
)
@click.argument("name", type=click.Choice(["astronaut", "grace_hopper"]))
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--seconds", type=click.FloatRange(0.2, 120), default=4.0, show_default=True, help="Clip length.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the camera's motion.")
@click.option("--overwrite", is_flag=True, help="Replace an existing file.")
def sample(name: str, path: Path, seconds: float, seed: int, overwrite: bool) -> None:
    """Render a built-in sample clip: a moving camera over a photo shipped with scikit-image or matplotlib."""
    from faceswap_gan.sample_clips import make_sample_clip

    click.echo(f"sample clip in {make_sample_clip(name, path, seconds=seconds, seed=seed, overwrite=overwrite)}")


TRAIN_EPILOG = """
\b
Examples:
  faceswap-gan train --data data/alice_bob --out runs/ab
  faceswap-gan train --data data/ab --out runs/ab128 --resolution 128 --capacity standard --norm instancenorm
  faceswap-gan train --data data/ab --out runs/ab --iterations 18000 --stop-after 2000   # in sessions
  torchrun --nproc-per-node 4 -m faceswap_gan.cli train --data data/ab --out runs/ab --device cuda

\b
Running the same command again resumes where the run stopped, with the settings saved in
RUN/config.yaml. RUN receives config.yaml, checkpoints/ (latest.pt, backup_iterNNNNNN.pt),
previews/iter_NNNNNN.png, losses.csv and loss_plot.png every --display-every iterations.
"""


@cli.command(epilog=TRAIN_EPILOG)
@click.option(
    "--data",
    "data_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Training data from `prepare`: face_src/ (person A), face_dst/ (B), binary_masks/.",
)
@click.option(
    "--out",
    "run_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Run folder; an existing run in it is resumed.",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="YAML with model:, train:, losses: sections; options given here win.",
)
@_option(TrainConfig, "iterations", type=click.IntRange(min=1))
@click.option("--stop-after", type=click.IntRange(min=1), help="Stop this session after N iterations (resume later).")
@_option(ModelConfig, "resolution")
@_option(ModelConfig, "capacity")
@_option(ModelConfig, "norm")
@_option(ModelConfig, "self_attention", "--self-attention/--no-self-attention")
@_option(TrainConfig, "batch_size", type=click.IntRange(min=2))
@_option(TrainConfig, "schedule")
@_option(TrainConfig, "gan")
@_option(TrainConfig, "perceptual")
@_option(TrainConfig, "perceptual_weights", type=click.Path(exists=True, dir_okay=False))
@_option(TrainConfig, "lr_g", type=click.FloatRange(0, min_open=True))
@_option(TrainConfig, "lr_d", type=click.FloatRange(0, min_open=True))
@_option(TrainConfig, "cycle_loss", "--cycle-loss/--no-cycle-loss")
@_option(TrainConfig, "motion_blur", "--motion-blur/--no-motion-blur")
@_option(TrainConfig, "part_augmentation", "--part-augmentation/--no-part-augmentation")
@_option(TrainConfig, "display_every", type=click.IntRange(min=1))
@_option(TrainConfig, "backup_every", type=click.IntRange(min=1))
@_option(TrainConfig, "workers", type=click.IntRange(min=-1))
@_option(TrainConfig, "device")
@_option(TrainConfig, "seed", type=int)
@_option(TrainConfig, "until_identity", type=click.FloatRange(0, 1))
@click.option("--quiet", is_flag=True, help="No progress bar.")
@_heavy
def train(data_dir: Path, run_dir: Path, config_file, stop_after, resolution, quiet: bool, **options) -> None:
    """Train the face-swap model on the faces of two people (resumable)."""
    from faceswap_gan.train import train_model
    from faceswap_gan.training.run_folder import resolve_configs

    model, config, weights = resolve_configs(
        run_dir, config_file, resolution=int(resolution) if resolution else None, **options
    )
    summary = train_model(data_dir, run_dir, model, config, weights, progress=not quiet, stop_after=stop_after)
    click.echo(summary.describe())
    click.echo(f"run folder {run_dir}: checkpoints/latest.pt, previews/, losses.csv, loss_plot.png")


CONVERT_EPILOG = """
\b
Examples:
  faceswap-gan convert alice_talk.mp4 --model runs/ab --out alice_as_bob.mp4
  faceswap-gan convert bob.mp4 --model runs/ab --out bob_as_alice.mp4 --direction BtoA --output-type triple
  faceswap-gan convert stage.mp4 --model runs/ab --out out.mp4 --reference alice.jpg --start 10 --end 25
  faceswap-gan convert photo.jpg --model runs/ab --out swapped.png --segmentation eyes_and_mouth
  faceswap-gan convert clips/ --model runs/ab --out swapped/            # every video and image in clips/

\b
AtoB puts person B's face on the faces of A (the video should show A), BtoA the reverse.
If the swapped face jitters, lower --kf-noise (x0.1); if it lags behind, raise it (x10).
If it looks pasted on, try another --color-correction or a smaller --roi-coverage.
"""


@cli.command(epilog=CONVERT_EPILOG)
@click.argument("sources", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--model",
    "model_path",
    required=True,
    type=click.Path(path_type=Path),
    help="A run folder of `train`, or a checkpoint file.",
)
@click.option(
    "--out",
    "out_path",
    required=True,
    type=click.Path(path_type=Path),
    help="Output video (.mp4, .mkv, .mov, .webm) for a video, image (.png, .jpg, ...) for an image; "
    "a folder for several inputs or a folder of them.",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="YAML of convert settings (ConverterConfig fields, e.g. a saved OUT.convert.yaml); options given here win.",
)
@_option(ConverterConfig, "direction")
@_option(ConverterConfig, "output_type")
@_option(ConverterConfig, "color_correction")
@_option(ConverterConfig, "segmentation")
@_option(ConverterConfig, "roi_coverage", type=click.FloatRange(0, 1, min_open=True, max_open=True))
@_option(ConverterConfig, "use_smoothed_bbox", "--smoothing/--no-smoothing")
@_option(ConverterConfig, "use_kalman_filter", "--kalman/--no-kalman")
@_option(ConverterConfig, "kf_noise_coef", "--kf-noise", type=click.FloatRange(0, min_open=True))
@_option(ConverterConfig, "bbox_moving_avg_coef", "--moving-average-coef", type=click.FloatRange(0, 1))
@_option(ConverterConfig, "detection_threshold", type=click.FloatRange(0, 1))
@_option(ConverterConfig, "min_face_area", type=click.IntRange(min=0))
@_option(ConverterConfig, "min_size", type=click.IntRange(min=12))
@_option(ConverterConfig, "auto_downscale", "--auto-downscale/--no-auto-downscale")
@_option(ConverterConfig, "full_detection_every", type=click.IntRange(min=1))
@_option(ConverterConfig, "enhance", type=click.FloatRange(0, 1))
@click.option("--reference", type=click.Path(exists=True, dir_okay=False), help="Swap only this person's face.")
@click.option("--start", type=click.FloatRange(min=0), default=0.0, help="Seconds into the video.")
@click.option("--end", type=click.FloatRange(min=0), help="Seconds into the video.")
@_option(ConverterConfig, "crf", type=click.IntRange(0, 51))
@_option(ConverterConfig, "device")
@_option(ConverterConfig, "max_pixels", type=click.IntRange(min=1))
@_option(ConverterConfig, "backend")
@click.option("--overwrite", is_flag=True, help="Replace an existing output file (never the input).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@_heavy
def convert(
    sources: tuple[Path, ...],
    model_path: Path,
    out_path: Path,
    config_file: Path | None,
    reference,
    start: float,
    end,
    overwrite: bool,
    quiet: bool,
    **fields,
) -> None:
    """Swap the faces of SOURCES (videos, images, or folders of them) with a trained model."""
    from faceswap_gan.batch import convert_many
    from faceswap_gan.convert import convert_image, convert_video
    from faceswap_gan.io.media import IMAGE_EXTENSIONS

    # The model's resolution unless a config file says otherwise.
    config = _load(ConverterConfig, config_file, fields, defaults={"image_shape": None})
    if len(sources) > 1 or sources[0].is_dir():  # a batch into the folder OUT
        if start or end is not None:
            raise UserError("--start and --end apply to one video; convert it on its own")
        summary = convert_many(list(sources), model_path, out_path, config, reference, overwrite, not quiet, click.echo)
        click.echo(summary.describe())
        if summary.failed:
            sys.exit(1)
        return
    [source] = sources
    if source.suffix.lower() in IMAGE_EXTENSIONS:
        summary = convert_image(source, model_path, out_path, config, reference, overwrite)
    else:
        summary = convert_video(
            source, model_path, out_path, config, start, end, reference, not quiet, overwrite=overwrite
        )
    click.echo(f"{source}: {summary.describe()}")
    click.echo(f"written {out_path}")


@cli.command(
    epilog="""
\b
Examples:
  faceswap-gan demo                       # built-in clips, about 2 minutes on a 2-core CPU
  faceswap-gan demo --src me.mp4 --dst you.mp4 --iterations 18000 --out my_demo
"""
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default="demo_out",
    show_default=True,
    help="Folder for clips, data, the run and the videos.",
)
@click.option("--src", type=click.Path(exists=True, path_type=Path), help="Video of person A (default: built-in).")
@click.option("--dst", type=click.Path(exists=True, path_type=Path), help="Video of person B (default: built-in).")
@click.option("--iterations", type=click.IntRange(min=1), help="Training iterations. [default: 120]")
@click.option("--quiet", is_flag=True, help="No progress bars.")
@_heavy
def demo(out_dir: Path, src, dst, iterations, quiet: bool) -> None:
    """Run the whole pipeline: two clips -> training data -> training -> swapped videos."""
    from faceswap_gan.demo import run_demo

    result = run_demo(out_dir, src, dst, iterations, progress=not quiet)
    click.echo(f"demo finished in {result.seconds:.0f} s:")
    click.echo(f"  swapped video      {result.swapped}")
    click.echo(f"  side by side       {result.side_by_side}  (source | result | mask map)")
    click.echo(f"  training preview   {result.previews}")
    click.echo(f"  loss plot          {result.loss_plot}")


@cli.command(
    "augment-parts",
    epilog="""
\b
Examples:
  faceswap-gan augment-parts data/ab --parts eyes,mouth --neighbours 5
  faceswap-gan train --data data/ab --out runs/ab_parts --part-augmentation

\b
Face-part replacement, method 1 of the original: every A face gets the chosen parts of its most
similar B faces, as extra training images. The original found that models learn the blending
seams; method 2 (`convert --segmentation`) replaces parts at conversion time instead.
""",
)
@click.argument("data_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--parts", default="eyes,mouth", show_default=True, help="Comma-separated: eyes, nose, mouth.")
@click.option(
    "--neighbours",
    type=click.IntRange(1, 50),
    default=5,
    show_default=True,
    help="Look-alike B faces per A face (one new image each).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Default DATA/face_src_aug (where `train --part-augmentation` looks).",
)
@click.option("--overwrite", is_flag=True, help="Replace earlier part-swapped faces.")
@_heavy
def augment_parts_command(data_dir: Path, parts: str, neighbours: int, out_dir, overwrite: bool) -> None:
    """Make part-swapped A faces (eyes/nose/mouth of look-alike B faces) as extra training data."""
    from faceswap_gan.training.part_augment import augment_parts

    summary = augment_parts(
        data_dir, tuple(p.strip() for p in parts.split(",") if p.strip()), neighbours, out_dir, overwrite
    )
    click.echo(f"{summary.written} part-swapped faces from {summary.sources} A faces in {summary.out_dir}")


@cli.command(
    epilog="""
\b
Examples:
  faceswap-gan benchmark                  # about two minutes on a 2-core CPU
  faceswap-gan benchmark --quick --json   # half the repetitions, figures as JSON
  faceswap-gan benchmark --device cuda
"""
)
@click.option("--device", type=click.Choice(DEVICES), default="auto", show_default=True, help="Where to measure.")
@click.option("--quick", is_flag=True, help="Half the repetitions: faster, noisier.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON (schema: BenchmarkReport).")
@_heavy
def benchmark(device: str, quick: bool, as_json: bool) -> None:
    """How fast training, conversion and detection run here, and how long 18,000 iterations would take."""
    import json

    from faceswap_gan.benchmark import run_benchmark

    report = run_benchmark(device, quick, log=lambda line: click.echo(line, err=True))
    click.echo(json.dumps(report.to_dict(), indent=2) if as_json else report.describe())


@cli.command(
    epilog="""
\b
Examples:
  faceswap-gan export --model runs/ab --out alice_to_bob.dfm              # for DeepFaceLive / FaceFusion
  faceswap-gan export --model runs/ab --out bob_to_alice.onnx --direction BtoA

\b
The graph takes aligned faces of the input person, in_face:0 (N, R, R, 3) BGR in [0, 1], and gives
out_face_mask:0, out_celeb_face:0 (BGR) and out_celeb_face_mask:0, as DeepFaceLab's DFM models do.
"""
)
@click.option(
    "--model", "model_path", required=True, type=click.Path(path_type=Path), help="A run folder or a checkpoint."
)
@click.option("--out", "out_path", required=True, type=click.Path(path_type=Path), help="model.onnx or model.dfm.")
@_option(ConverterConfig, "direction")
@click.option(
    "--format", "fmt", type=click.Choice(["onnx", "dfm"]), help="Set the extension: .onnx or .dfm (the same graph)."
)
@click.option("--overwrite", is_flag=True, help="Replace an existing file.")
def export(model_path: Path, out_path: Path, direction: str | None, fmt: str | None, overwrite: bool) -> None:
    """Export the model as an ONNX graph with DeepFaceLab's DFM conventions (DeepFaceLive, FaceFusion)."""
    from faceswap_gan.export import export_model

    if fmt is not None:
        out_path = out_path.with_suffix(f".{fmt}")
    summary = export_model(model_path, out_path, direction or ConverterConfig.direction.value, overwrite)
    click.echo(summary.describe())


@cli.command(
    epilog="""
\b
Examples:
  faceswap-gan evaluate alice_talk.mp4 --model runs/ab --a data/ab/face_src --b data/ab/face_dst --out eval/ab
  faceswap-gan evaluate alice.mp4 --model runs/ab --a alice.mp4 --b bob.mp4 --swapped alice_as_bob.mp4 --out eval/x

\b
Writes OUT/report.json (its "schema" explains every figure), OUT/report.md and OUT/strip.png (eight
frames: the source above, the swap below). For the figures see `faceswap_gan/evaluate.py`.
"""
)
@click.argument("source", type=click.Path(path_type=Path))
@click.option(
    "--model", "model_path", required=True, type=click.Path(path_type=Path), help="A run folder or a checkpoint."
)
@click.option(
    "--a", "faces_a", required=True, type=click.Path(path_type=Path), help="Faces, photos or a clip of person A."
)
@click.option(
    "--b", "faces_b", required=True, type=click.Path(path_type=Path), help="Faces, photos or a clip of person B."
)
@click.option(
    "--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path), help="Report folder."
)
@_option(ConverterConfig, "direction")
@click.option("--swapped", type=click.Path(exists=True, path_type=Path), help="An already converted SOURCE to judge.")
@click.option(
    "--frames", type=click.IntRange(min=3), default=48, show_default=True, help="Consecutive frames compared."
)
@_heavy
def evaluate(
    source: Path, model_path: Path, faces_a: Path, faces_b: Path, out_dir: Path, direction, swapped, frames: int
) -> None:
    """Measure a swap: identity transfer, expression, stability, face still found, reconstruction."""
    from faceswap_gan.evaluate import evaluate_model

    report = evaluate_model(model_path, source, faces_a, faces_b, out_dir, direction or "AtoB", swapped, frames)
    click.echo(report.describe())
    click.echo(f"report in {out_dir / 'report.json'}, {out_dir / 'report.md'}, {out_dir / 'strip.png'}")


def _terminate(signum, frame) -> None:
    raise KeyboardInterrupt  # SIGTERM (kill, a closed session) ends the work like Ctrl-C: partial files go


def main() -> None:
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        _run()
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run() -> None:
    try:
        cli.main(standalone_mode=False)
    except UserError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except OSError as exc:  # a file we could not write or read that no stage foresaw: still one line
        click.echo(f"error: {os_error_message(exc)}", err=True)
        sys.exit(1)
    except (click.exceptions.Abort, KeyboardInterrupt):
        command = next((arg for arg in sys.argv[1:] if not arg.startswith("-")), "")
        hint = "; run the same command to resume training" if command == "train" else ""
        click.echo(f"interrupted: finished work was kept, partial files discarded{hint}", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
