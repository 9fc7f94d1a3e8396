"""Commands that train a model: pretrain (a face prior from many people) and train (a pair)."""

from __future__ import annotations

from pathlib import Path

import click

from faceswap_gan.cli import cli, heavy, option_for
from faceswap_gan.config import ModelConfig, TrainConfig

TRAIN_EPILOG = """
\b
Examples:
  faceswap-gan train --data data/alice_bob --out runs/ab
  faceswap-gan train --data data/ab --out runs/ab128 --resolution 128 --capacity standard --norm instancenorm
  faceswap-gan train --data data/ab --out runs/ab --iterations 18000 --stop-after 2000   # in sessions
  faceswap-gan train --data data/ab --out runs/ab --recipe fast --until-identity 0.9
  torchrun --nproc-per-node 4 -m faceswap_gan.cli train --data data/ab --out runs/ab --device cuda

\b
Running the same command again resumes where the run stopped, with the settings saved in
RUN/config.yaml. RUN receives config.yaml, checkpoints/ (latest.pt, backup_iterNNNNNN.pt),
previews/iter_NNNNNN.png, losses.csv and loss_plot.png every --display-every iterations.
"""


def _training_options(command):
    """The options that `train` and `pretrain` share: a settings file, the ModelConfig and TrainConfig fields
    of both, --stop-after and --quiet."""
    for decorate in reversed(
        [
            click.option(
                "--config",
                "config_file",
                type=click.Path(exists=True, dir_okay=False, path_type=Path),
                help="YAML with model:, train:, losses: sections; options given here win.",
            ),
            option_for(TrainConfig, "iterations", type=click.IntRange(min=1)),
            click.option(
                "--stop-after", type=click.IntRange(min=1), help="Stop this session after N iterations (resume later)."
            ),
            option_for(ModelConfig, "resolution"),
            option_for(ModelConfig, "capacity"),
            option_for(ModelConfig, "norm"),
            option_for(ModelConfig, "self_attention", "--self-attention/--no-self-attention"),
            option_for(
                ModelConfig,
                "latent",
                callback=lambda ctx, param, value: None if value in (None, "None") else int(value),
            ),
            option_for(TrainConfig, "batch_size", type=click.IntRange(min=2)),
            option_for(TrainConfig, "schedule"),
            option_for(TrainConfig, "gan"),
            option_for(TrainConfig, "perceptual"),
            option_for(TrainConfig, "perceptual_weights", type=click.Path(exists=True, dir_okay=False)),
            option_for(TrainConfig, "lr_g", type=click.FloatRange(0, min_open=True)),
            option_for(TrainConfig, "lr_d", type=click.FloatRange(0, min_open=True)),
            option_for(TrainConfig, "cycle_loss", "--cycle-loss/--no-cycle-loss"),
            option_for(TrainConfig, "motion_blur", "--motion-blur/--no-motion-blur"),
            option_for(TrainConfig, "warp", type=click.FloatRange(min=0)),
            option_for(TrainConfig, "warp_until", type=click.IntRange(min=0)),
            option_for(TrainConfig, "display_every", type=click.IntRange(min=1)),
            option_for(TrainConfig, "backup_every", type=click.IntRange(min=1)),
            option_for(TrainConfig, "workers", type=click.IntRange(min=-1)),
            option_for(TrainConfig, "device"),
            option_for(TrainConfig, "precision"),
            option_for(TrainConfig, "compile"),
            option_for(TrainConfig, "seed", type=int),
            option_for(TrainConfig, "average", type=click.FloatRange(0, 1, max_open=True)),
            click.option("--quiet", is_flag=True, help="No progress bar."),
        ]
    ):
        command = decorate(command)
    return command


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
@_training_options
@option_for(TrainConfig, "part_augmentation", "--part-augmentation/--no-part-augmentation")
@option_for(TrainConfig, "prior")
@option_for(TrainConfig, "until_identity", type=click.FloatRange(0, 1))
@click.option(
    "--recipe",
    type=click.Choice(["original", "fast"]),
    help="A set of settings for a new run, below --config and the options: original (the 2018 recipe, the "
    "defaults) or fast (ours: --schedule fast, --batch-size 4, --warp 1.5, the code discriminator, and --prior "
    "builtin for the default model). [default: original]",
)
@heavy
def train(data_dir: Path, run_dir: Path, config_file, stop_after, resolution, quiet: bool, recipe, **options) -> None:
    """Train the face-swap model on the faces of two people (resumable)."""
    from faceswap_gan.train import train_model
    from faceswap_gan.training.run_folder import resolve_configs

    model, config, weights = resolve_configs(
        run_dir, config_file, recipe, resolution=int(resolution) if resolution else None, **options
    )
    summary = train_model(data_dir, run_dir, model, config, weights, progress=not quiet, stop_after=stop_after)
    click.echo(summary.describe())
    click.echo(f"run folder {run_dir}: checkpoints/latest.pt, previews/, losses.csv, loss_plot.png")


PRETRAIN_EPILOG = """
\b
Examples:
  faceswap-gan prepare carol.mp4 dave.mp4 --out data/cd && faceswap-gan prepare erin.mp4 frank.mp4 --out data/ef
  faceswap-gan pretrain data/cd data/ef --out prior.pt --run runs/prior --iterations 6000
  faceswap-gan train --data data/ab --out runs/ab --prior prior.pt --schedule fast

\b
Trains one model on the faces of everybody in DATA (both people of each `prepare` folder, one pool on
both sides), so that its decoders learn to draw faces in general, and writes its generator to OUT
(float16). `train --prior OUT` then starts a pair's training there instead of from random weights. The
more different people, the better the prior; never the people you will measure it on. Running the same
command again resumes in RUN and rewrites OUT.
"""


@cli.command(epilog=PRETRAIN_EPILOG)
@click.argument("data_dirs", nargs=-1, required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The prior file to write (.pt)."
)
@click.option(
    "--run",
    "run_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Run folder of the pretraining (resumable). [default: OUT without its suffix, + _run]",
)
@_training_options
@heavy
def pretrain(data_dirs, out: Path, run_dir, config_file, stop_after, resolution, quiet: bool, **options) -> None:
    """Train a face prior on the faces of many people, for `train --prior`."""
    from faceswap_gan.pretrain import pretrain_model
    from faceswap_gan.training.run_folder import resolve_configs

    run_dir = run_dir or out.with_name(out.stem + "_run")
    model, config, weights = resolve_configs(
        run_dir, config_file, resolution=int(resolution) if resolution else None, **options
    )
    summary = pretrain_model(data_dirs, out, run_dir, model, config, weights, not quiet, stop_after)
    click.echo(summary.describe())
    click.echo(f"prior {out}; start a pair's training from it with `faceswap-gan train ... --prior {out}`")
