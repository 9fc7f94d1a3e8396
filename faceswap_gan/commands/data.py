"""Commands that make training data: extract, prepare, masks, sample, augment-parts."""

from __future__ import annotations

from pathlib import Path

import click

from faceswap_gan.cli import cli, heavy, load_settings, option_for, options
from faceswap_gan.config import ExtractConfig

EXAMPLES_EXTRACT = """
\b
Examples:
  faceswap-gan extract interview.mp4 --out work/interview
  faceswap-gan extract crowd.mp4 --out work/anna --reference anna.jpg --every 3
  faceswap-gan extract photos/ --out work/photos --size 128
"""


def _extract_options(fn):
    """Options shared by extract and prepare; each maps to one ExtractConfig field."""
    e = ExtractConfig
    return options(
        fn,
        [
            click.option(
                "--config",
                "config_file",
                type=click.Path(dir_okay=False, path_type=Path),
                help="YAML file of extract settings; options given here win.",
            ),
            option_for(e, "every", type=click.IntRange(min=1)),
            option_for(e, "size", type=click.IntRange(32, 1024)),
            option_for(e, "min_size", type=click.IntRange(min=12)),
            option_for(
                e,
                "detection_threshold",
                "--detection-threshold",
                "--threshold",
                type=click.FloatRange(0, 1, min_open=True, max_open=True),
            ),
            option_for(e, "auto_downscale", "--auto-downscale/--no-auto-downscale"),
            option_for(e, "min_face_area", type=click.IntRange(min=0)),
            option_for(e, "several_faces"),
            option_for(e, "reference", type=click.Path(exists=True, dir_okay=False)),
            option_for(e, "mask_method"),
            option_for(e, "max_pixels", type=click.IntRange(min=1)),
            option_for(e, "holdout", type=click.FloatRange(0, 0.5)),
            click.option("--overwrite", is_flag=True, help="Replace a previous result in the output folder."),
            click.option("--quiet", is_flag=True, help="No progress bar."),
        ],
    )


def _extract_config(config_file: Path | None, **fields) -> ExtractConfig:
    return load_settings(ExtractConfig, config_file, fields)


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
@heavy
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
@heavy
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
@option_for(ExtractConfig, "mask_method", "--method")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@heavy
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
@heavy
def augment_parts_command(data_dir: Path, parts: str, neighbours: int, out_dir, overwrite: bool) -> None:
    """Make part-swapped A faces (eyes/nose/mouth of look-alike B faces) as extra training data."""
    from faceswap_gan.training.part_augment import augment_parts

    summary = augment_parts(
        data_dir, tuple(p.strip() for p in parts.split(",") if p.strip()), neighbours, out_dir, overwrite
    )
    click.echo(f"{summary.written} part-swapped faces from {summary.sources} A faces in {summary.out_dir}")
