"""What training shows the user: preview grids, the loss table (CSV) and its plot."""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path

import numpy as np
import torch

from faceswap_gan.io.atomic import atomic_write
from faceswap_gan.io.media import write_image


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """(N, C, H, W) in [-1, 1] (3 channels) or [0, 1] (1 channel) -> (N, H, W, 3) uint8."""
    images = images.detach().float().cpu()
    if images.shape[1] == 1:
        images = images.expand(-1, 3, -1, -1) * 2 - 1
    return ((images.permute(0, 2, 3, 1).numpy() + 1) * 127.5).clip(0, 255).round().astype(np.uint8)


@torch.no_grad()
def preview_grid(generator, faces_a: torch.Tensor, faces_b: torch.Tensor) -> np.ndarray:
    """The original's preview: per face, [face | reconstruction | swap | swap's mask], A faces then B faces.

    Reconstruction = the face through its own decoder, swap = through the other one; both are the
    masked composites over the input. Returns (rows * R, 4 * R, 3) uint8 RGB.
    """
    rows = []
    for faces, own, other in ((faces_a, "a", "b"), (faces_b, "b", "a")):
        recon, swap = generator.decode(faces, own), generator.decode(faces, other)
        columns = [faces, recon.composite(faces), swap.composite(faces), swap.alpha]
        rows.append(np.concatenate([to_uint8(c) for c in columns], axis=2))  # (N, R, 4R, 3)
    return np.concatenate([r.reshape(-1, *r.shape[2:]) for r in rows], axis=0)


def save_preview(path: str | os.PathLike, grid: np.ndarray) -> None:
    with atomic_write(path) as tmp:
        write_image(tmp, grid)


def loss_row(done: int, history: list[dict[str, float]]) -> dict[str, float]:
    """The mean of every loss term over a display interval, one column per term the step returned (in the
    order they first appear): a new term of the objective reaches the CSV, the plot and TensorBoard by itself."""
    names = list(dict.fromkeys(name for losses in history for name in losses))
    return {"iteration": done} | {k: float(np.mean([h[k] for h in history if k in h])) for k in names}


def write_losses(path: str | os.PathLike, rows: list[dict[str, float]]) -> None:
    """The whole loss table, rewritten atomically (a crash never leaves a torn row): one column per term any
    row has, blank where a row has none (a term switched on when resuming)."""
    columns = list(dict.fromkeys(name for row in rows for name in row))
    with atomic_write(path) as tmp, tmp.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows(rows)


def read_losses(path: str | os.PathLike) -> list[dict[str, float]]:
    """The rows of a loss table (blank cells left out); a missing or unreadable table is no rows."""
    try:
        with Path(path).open(newline="") as f:
            return [{k: float(v) for k, v in row.items() if v not in ("", None)} for row in csv.DictReader(f)]
    except (OSError, ValueError, csv.Error):
        return []


def plot_losses(csv_path: str | os.PathLike, png_path: str | os.PathLike) -> None:
    """Discriminator and generator losses against iterations, one panel each (written atomically)."""
    # A bare Figure draws without pyplot, so the plot never changes the caller's matplotlib backend.
    from matplotlib.figure import Figure

    with Path(csv_path).open() as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return
    columns = [c for c in rows[0] if c != "iteration"]
    # held-out identity transfer and alpha, on 0..1: a panel of their own
    quality = [c for c in columns if c.startswith(("id_", "margin_", "alpha_", "raw_"))]
    fig = Figure(figsize=(16 if quality else 11, 4), constrained_layout=True)
    axes = fig.subplots(1, 3 if quality else 2)
    ax_d, ax_g = axes[0], axes[1]
    for key in columns:  # d_* on the left, every generator term in the middle, identity on the right
        points = [(int(r["iteration"]), float(r[key])) for r in rows if r.get(key)]
        ax = axes[2] if key in quality else ax_d if key.startswith("d_") else ax_g
        ax.plot(*zip(*points, strict=True), label=key)
    panels = [(ax_d, "discriminators"), (ax_g, "generator (both sides)")]
    for ax, title in panels + ([(axes[2], "held-out identity transfer")] if quality else []):
        ax.set(title=title, xlabel="iteration")
        ax.legend()
        ax.grid(alpha=0.3)
    with atomic_write(png_path) as tmp:
        fig.savefig(tmp, dpi=90)


def preview_path(run_dir: Path, iteration: int) -> Path:
    return run_dir / "previews" / f"iter_{iteration:06d}.png"


def report(run_dir: Path, log: list[dict[str, float]], generator, preview) -> None:
    """What a display interval shows, after its checkpoint holds ``log`` (every interval's loss row so far):
    the loss table and its plot, the preview grid of the last row's iteration, its TensorBoard scalars."""
    done = int(log[-1]["iteration"])
    write_losses(run_dir / "losses.csv", log)
    plot_losses(run_dir / "losses.csv", run_dir / "loss_plot.png")
    preview_path(run_dir, done).parent.mkdir(exist_ok=True)
    save_preview(preview_path(run_dir, done), captioned(preview_grid(generator, *preview), log[-1]))
    _tensorboard(run_dir, done, log[-1])


CAPTION = 24  # pixels of the line above a preview that states the held-out identity transfer


def captioned(grid: np.ndarray, row: dict[str, float]) -> np.ndarray:
    """The preview with a line on top giving the interval's held-out identity transfer, where it was
    measured (``training/held_out.py``); the grid alone otherwise."""
    if "id_a2b" not in row:
        return grid
    import cv2

    line = np.full((CAPTION, grid.shape[1], 3), 255, np.uint8)
    text = f"held-out id A->B {row['id_a2b']:.2f}  B->A {row['id_b2a']:.2f}"  # fits a 64 px grid
    cv2.putText(line, text, (4, CAPTION - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    return np.concatenate([line, grid])


def reconcile(run_dir: Path, iteration: int, log: list[dict[str, float]], generator, preview) -> None:
    """On resume, make what the run folder shows agree with the checkpoint of ``iteration`` again: the loss
    table and plot from its log, no preview of an interval whose weights were lost, and the checkpoint's own
    preview if the crash came before it was drawn."""
    if log or (run_dir / "losses.csv").exists():
        write_losses(run_dir / "losses.csv", log)
        if log:
            plot_losses(run_dir / "losses.csv", run_dir / "loss_plot.png")
    for path in sorted((run_dir / "previews").glob("iter_*.png")):
        if path.stem[5:].isdigit() and int(path.stem[5:]) > iteration:
            path.unlink()
    if log and not preview_path(run_dir, iteration).exists():
        preview_path(run_dir, iteration).parent.mkdir(exist_ok=True)
        save_preview(preview_path(run_dir, iteration), preview_grid(generator, *preview))


def _tensorboard(run_dir: Path, done: int, row: dict[str, float]) -> None:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard is optional
        return
    # purge_step drops the events an interrupted run wrote after its last checkpoint
    with SummaryWriter(run_dir / "tensorboard", purge_step=done) as writer:
        for key, value in row.items():
            if key != "iteration" and math.isfinite(value):
                writer.add_scalar(f"loss/{key}", value, done)
