"""Commands that use a trained model: convert, export, evaluate."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from faceswap_gan.cli import cli, heavy, load_settings, option_for
from faceswap_gan.converter import ConverterConfig
from faceswap_gan.errors import UserError

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
If it looks pasted on, try another --color-correction or a smaller --roi-coverage; if it looks
blurry, a higher --sharpen (2); if it shows halos or noise, a lower one (0 is the original's).
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
@option_for(ConverterConfig, "direction")
@option_for(ConverterConfig, "output_type")
@option_for(ConverterConfig, "color_correction")
@option_for(ConverterConfig, "sharpen", type=click.FloatRange(0, 4))
@option_for(ConverterConfig, "segmentation")
@option_for(ConverterConfig, "roi_coverage", type=click.FloatRange(0, 1, min_open=True, max_open=True))
@option_for(ConverterConfig, "use_smoothed_bbox", "--smoothing/--no-smoothing")
@option_for(ConverterConfig, "use_kalman_filter", "--kalman/--no-kalman")
@option_for(ConverterConfig, "kf_noise_coef", "--kf-noise", type=click.FloatRange(0, min_open=True))
@option_for(ConverterConfig, "bbox_moving_avg_coef", "--moving-average-coef", type=click.FloatRange(0, 1))
@option_for(ConverterConfig, "detection_threshold", type=click.FloatRange(0, 1))
@option_for(ConverterConfig, "min_face_area", type=click.IntRange(min=0))
@option_for(ConverterConfig, "min_size", type=click.IntRange(min=12))
@option_for(ConverterConfig, "auto_downscale", "--auto-downscale/--no-auto-downscale")
@option_for(ConverterConfig, "full_detection_every", type=click.IntRange(min=1))
@option_for(ConverterConfig, "enhance", type=click.FloatRange(0, 1))
@click.option("--reference", type=click.Path(exists=True, dir_okay=False), help="Swap only this person's face.")
@click.option("--start", type=click.FloatRange(min=0), default=0.0, help="Seconds into the video.")
@click.option("--end", type=click.FloatRange(min=0), help="Seconds into the video.")
@option_for(ConverterConfig, "crf", type=click.IntRange(0, 51))
@option_for(ConverterConfig, "device")
@option_for(ConverterConfig, "precision")
@option_for(ConverterConfig, "max_pixels", type=click.IntRange(min=1))
@option_for(ConverterConfig, "backend")
@click.option("--overwrite", is_flag=True, help="Replace an existing output file (never the input).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@heavy
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
    config = load_settings(ConverterConfig, config_file, fields, defaults={"image_shape": None})
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
@option_for(ConverterConfig, "direction")
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
@option_for(ConverterConfig, "direction")
@click.option("--swapped", type=click.Path(exists=True, path_type=Path), help="An already converted SOURCE to judge.")
@click.option(
    "--frames", type=click.IntRange(min=3), default=48, show_default=True, help="Consecutive frames compared."
)
@heavy
def evaluate(
    source: Path, model_path: Path, faces_a: Path, faces_b: Path, out_dir: Path, direction, swapped, frames: int
) -> None:
    """Measure a swap: identity transfer, expression, stability, face still found, reconstruction."""
    from faceswap_gan.evaluate import evaluate_model

    report = evaluate_model(model_path, source, faces_a, faces_b, out_dir, direction or "AtoB", swapped, frames)
    click.echo(report.describe())
    click.echo(f"report in {out_dir / 'report.json'}, {out_dir / 'report.md'}, {out_dir / 'strip.png'}")
