"""Commands around the pipeline: demo, benchmark, ui."""

from __future__ import annotations

import json
from pathlib import Path

import click

from faceswap_gan.cli import cli, heavy, option_for
from faceswap_gan.config import DEVICES, TrainConfig
from faceswap_gan.errors import UserError


@cli.command(
    epilog="""
\b
Examples:
  faceswap-gan demo                       # built-in clips, about 1.5 minutes on a 2-core CPU
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
@heavy
def demo(out_dir: Path, src, dst, iterations, quiet: bool) -> None:
    """Run the whole pipeline: two clips -> training data -> training -> swapped videos."""
    from faceswap_gan.demo import run_demo

    result = run_demo(out_dir, src, dst, iterations, progress=not quiet)
    click.echo(f"demo finished in {result.seconds:.0f} s:")
    click.echo(f"  swapped video      {result.swapped}")
    click.echo(f"  side by side       {result.side_by_side}  (source | result | mask map)")
    click.echo(f"  training preview   {result.previews}")
    click.echo(f"  loss plot          {result.loss_plot}")
    q = result.quality
    click.echo(
        f"  identity transfer  {q.identity_transfer:.2f} (HOG second opinion {q.identity_transfer_hog:.2f}; "
        "1.0 = the face is B's in every frame; report in evaluation/)"
    )
    if src is None and dst is None:
        click.echo("  (the built-in pair continues from a model of it trained ahead of time: README, Shipped weights)")


@cli.command(
    epilog="""
\b
Examples:
  faceswap-gan benchmark                  # about two minutes on a 2-core CPU (two more compiling, once)
  faceswap-gan benchmark --quick --json   # half the repetitions, figures as JSON
  faceswap-gan benchmark --device cuda
"""
)
@click.option("--device", type=click.Choice(DEVICES), default="auto", show_default=True, help="Where to measure.")
@option_for(TrainConfig, "precision", default="auto", show_default=True)
@option_for(TrainConfig, "compile", default="auto", show_default=True)
@click.option("--quick", is_flag=True, help="Half the repetitions: faster, noisier.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON (schema: BenchmarkReport).")
@heavy
def benchmark(device: str, precision: str, compile: str, quick: bool, as_json: bool) -> None:
    """How fast training, conversion and detection run here, and how long 18,000 iterations would take."""

    from faceswap_gan.benchmark import run_benchmark

    report = run_benchmark(device, quick, precision, compile, log=lambda line: click.echo(line, err=True))
    click.echo(json.dumps(report.to_dict(), indent=2) if as_json else report.describe())


@cli.command(
    epilog="""
\b
Examples:
  faceswap-gan ui                                  # http://127.0.0.1:7860, workspace ./faceswap_work
  faceswap-gan ui --port 8080 --workdir ~/swaps
  faceswap-gan ui --host 0.0.0.0                   # reachable from other machines: no password!

\b
The page runs prepare, train and convert as background jobs in WORKDIR/{data,runs,outputs}/PROJECT,
the same folders the CLI uses: a run started in the page resumes from the CLI and the other way round.
Training goes on when the page is closed; open it again to follow it. Nothing is sent anywhere.
"""
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (127.0.0.1: this machine).")
@click.option("--port", type=click.IntRange(1, 65535), default=7860, show_default=True, help="Port to listen on.")
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default="faceswap_work",
    show_default=True,
    help="Workspace folder: inputs/, data/, runs/, outputs/, jobs/.",
)
def ui(host: str, port: int, workdir: Path) -> None:
    """Start the web UI: prepare, train and convert in the browser."""
    try:
        from faceswap_gan.ui.app import serve
    except ModuleNotFoundError as exc:
        raise UserError(f"the web UI needs {exc.name}: pip install 'faceswap-gan[ui]'") from exc
    click.echo(f"faceswap-gan UI on http://{host}:{port} (workspace {workdir.resolve()}); Ctrl-C stops it", err=True)
    serve(workdir, host, port)
