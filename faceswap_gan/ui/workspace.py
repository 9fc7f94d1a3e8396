"""What the web UI does, without the web: a workspace folder of projects, each with the same folders the
CLI uses, and the jobs that fill them. Every handler of ``app.py`` is a method here, so the page is
tested without a browser, and a run started here resumes from the CLI and the other way round.

    WORKDIR/inputs/PROJECT/   uploaded clips and photos (copies)
    WORKDIR/data/PROJECT/     `prepare`'s training data (face_src/ = person A, face_dst/ = person B)
    WORKDIR/runs/PROJECT/     `train`'s run folder
    WORKDIR/outputs/PROJECT/  `convert`'s results
    WORKDIR/jobs/PROJECT/KIND/  the background job of each kind (jobs.py)
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from faceswap_gan.errors import UserError
from faceswap_gan.io.atomic import atomic_write
from faceswap_gan.io.layout import DataFolder
from faceswap_gan.io.media import IMAGE_EXTENSIONS, is_video, list_images
from faceswap_gan.ui.forms import check_settings
from faceswap_gan.ui.jobs import Job, JobStatus

SIDES = {"A": "src", "B": "dst"}  # the page's names of the two people -> prepare's folder names
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class TrainView:
    """What the page shows of a run: its newest preview grid, loss plot and held-out figures."""

    status: JobStatus
    preview: Path | None
    loss_plot: Path | None
    quality: str
    iteration: int


class Workspace:
    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root).resolve()
        for folder in ("inputs", "data", "runs", "outputs", "jobs"):
            (self.root / folder).mkdir(parents=True, exist_ok=True)

    # -- projects ------------------------------------------------------------------------------------
    def projects(self) -> list[str]:
        found = {p.name for folder in ("data", "runs") for p in (self.root / folder).iterdir() if p.is_dir()}
        return sorted(found)

    def _project(self, name: str) -> str:
        name = (name or "").strip()
        if not _NAME.match(name):
            raise UserError(f"project name {name!r}: use letters, digits, '-', '_' or '.' (at most 64)")
        return name

    def latest_project(self) -> str | None:
        """The project whose jobs changed last (the page reattaches to it), else the first one."""
        jobs = [p for p in (self.root / "jobs").iterdir() if p.is_dir() and _NAME.match(p.name)]
        if jobs:
            return max(jobs, key=lambda p: max((f.stat().st_mtime for f in p.rglob("*")), default=0)).name
        return next(iter(self.projects()), None)

    def data_dir(self, project: str) -> Path:
        return self.root / "data" / self._project(project)

    def run_dir(self, project: str) -> Path:
        return self.root / "runs" / self._project(project)

    def job(self, project: str, kind: str) -> Job:
        return Job(self.root / "jobs" / self._project(project) / kind)

    def status(self, project: str, kind: str) -> JobStatus:
        return self.job(project, kind).status()

    def data_status(self, project: str) -> JobStatus:
        """The data's last job: prepare, or the masks remade after faces were deleted."""
        prepare, masks = self.job(project, "prepare"), self.job(project, "masks")
        return (masks if masks.started() > prepare.started() else prepare).status()

    def stop(self, project: str, kind: str) -> bool:
        return self.job(project, kind).stop()

    def saved_settings(self, project: str) -> dict[str, dict[str, Any]]:
        """The settings a project's data and run were made with ({form: {field: value}}), for the page to show."""
        found: dict[str, dict[str, Any]] = {}
        extract, run = DataFolder(self.data_dir(project)).settings, self.run_dir(project) / "config.yaml"
        convert = self.root / "jobs" / self._project(project) / "convert.yaml"  # the last conversion's
        for path, section in ((extract, "extract"), (run, None), (convert, "convert")):
            try:
                data = yaml.safe_load(path.read_text()) or {}
            except (OSError, yaml.YAMLError):
                continue
            if isinstance(data, dict):
                found |= {section: data} if section else {k: v for k, v in data.items() if isinstance(v, dict)}
        return found

    def _settings_file(self, project: str, kind: str, settings: dict[str, dict[str, Any]], flat: str | None) -> Path:
        """The page's settings as the YAML that the command's ``--config`` reads: sections for train, the
        one section ``flat`` as plain fields for extract and convert."""
        try:
            check_settings(settings)
        except (TypeError, ValueError) as exc:
            raise UserError(f"invalid setting {exc}") from exc
        data = settings.get(flat, {}) if flat else settings
        path = self.root / "jobs" / self._project(project) / f"{kind}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(path) as tmp:
            tmp.write_text(yaml.safe_dump(data, sort_keys=False))
        return path

    # -- data ----------------------------------------------------------------------------------------
    def save_input(self, project: str, side: str, files: list[str | os.PathLike] | None, path: str = "") -> Path:
        """The source of one person: uploaded ``files`` (one video or image, or several images: copied to
        inputs/), else ``path``, a video, image or folder already on this machine."""
        if files:
            files = [Path(f) for f in files]
            single = len(files) == 1 and (is_video(files[0]) or files[0].suffix.lower() in IMAGE_EXTENSIONS)
            if not single and any(f.suffix.lower() not in IMAGE_EXTENSIONS for f in files):
                bad = next(f for f in files if f.suffix.lower() not in IMAGE_EXTENSIONS)
                raise UserError(f"{bad.name}: several files must all be images ({', '.join(IMAGE_EXTENSIONS)})")
            # A new folder for every upload: a job may still be reading the previous one.
            folder = self._new_folder(self.root / "inputs" / self._project(project), side)
            for f in files:
                shutil.copyfile(f, folder / f.name)
            return folder / files[0].name if single else folder
        if not path.strip():
            raise UserError(f"person {side}: upload a video or photos, or give a path on this machine")
        source = Path(path.strip()).expanduser()
        if not source.exists():
            raise UserError(f"{source}: no such file or folder")
        return source

    @staticmethod
    def _new_folder(parent: Path, prefix: str) -> Path:
        n = 1
        while True:
            folder = parent / f"{prefix}-{n}"
            try:
                folder.mkdir(parents=True)
                return folder
            except FileExistsError:
                n += 1

    def start_prepare(self, project: str, src: Path, dst: Path, settings: dict, overwrite: bool) -> None:
        config = self._settings_file(project, "prepare", settings, "extract")
        args = ["prepare", str(src), str(dst), "--out", str(self.data_dir(project)), "--config", str(config)]
        self.job(project, "prepare").start(args + (["--overwrite"] if overwrite else []))

    def faces(self, project: str, person: str) -> list[Path]:
        """The faces of person A or B, the held-out ones included."""
        data, side = DataFolder(self.data_dir(project)), SIDES[person]
        return [p for folder in (data.faces(side), data.holdout(side)) if folder.is_dir() for p in list_images(folder)]

    def delete_faces(self, project: str, person: str, names: list[str]) -> int:
        """Delete wrong faces of person A or B by file name (and their eye masks), then remake the masks."""
        data, side = DataFolder(self.data_dir(project)), SIDES[person]
        pairs = ((data.faces(side), data.masks(side)), (data.holdout(side), data.holdout_masks(side)))
        deleted = 0
        for name in names:
            found = [(folder / name, masks / name) for folder, masks in pairs if (folder / name).is_file()]
            if Path(name).name != name or not found:
                raise UserError(f"{name}: not a face of person {person} in project {project}")
            for face, mask in found:
                face.unlink()
                mask.unlink(missing_ok=True)
            deleted += 1
        if deleted:
            self.job(project, "masks").start(["masks", str(data.root)])
        return deleted

    # -- train ---------------------------------------------------------------------------------------
    def start_train(self, project: str, settings: dict) -> None:
        data = self.data_dir(project)
        if not DataFolder(data).faces("src").is_dir():
            raise UserError(f"project {project}: no training data yet; prepare it first (Data tab)")
        train = {k: v for k, v in settings.items() if k in ("model", "train", "losses")}
        config = self._settings_file(project, "train", train, None)
        args = ["train", "--data", str(data), "--out", str(self.run_dir(project)), "--config", str(config)]
        self.job(project, "train").start(args)

    def train_view(self, project: str) -> TrainView:
        from faceswap_gan.training.reporting import read_losses  # imports torch: not at the server's start

        run = self.run_dir(project)
        previews = sorted((run / "previews").glob("iter_*.png")) if (run / "previews").is_dir() else []
        plot = run / "loss_plot.png"
        rows = read_losses(run / "losses.csv")
        last = rows[-1] if rows else {}
        iteration = int(last.get("iteration", 0))
        quality = ", ".join(
            f"{label} {last[key]:.2f}"
            for key, label in (
                ("id_a2b", "identity A→B"),
                ("id_b2a", "identity B→A"),
                ("raw_a2b", "decoder alone A→B"),
                ("raw_b2a", "B→A"),
                ("alpha_a2b", "mask A→B"),
            )
            if key in last
        )
        return TrainView(
            self.status(project, "train"),
            previews[-1] if previews else None,
            plot if plot.exists() else None,
            f"iteration {iteration}: {quality}" if quality else (f"iteration {iteration}" if rows else ""),
            iteration,
        )

    # -- convert -------------------------------------------------------------------------------------
    def model(self, project: str) -> Path:
        run = self.run_dir(project)
        if not (run / "checkpoints" / "latest.pt").exists():
            raise UserError(f"project {project}: no trained model yet; train it first (Train tab)")
        return run

    def frame_count(self, source: Path) -> int:
        """How many frames ``source`` has (1 for an image, the images of a folder)."""
        from faceswap_gan.io.media import count_source

        return max(count_source(source), 1)

    def preview_frame(self, project: str, source: Path, index: int, settings: dict) -> np.ndarray:
        """One frame of ``source`` (the ``index``-th of a video) converted with the page's settings: (H, W, 3)
        uint8 RGB in the chosen layout."""
        from faceswap_gan.convert import ConvertSummary, FramePipeline
        from faceswap_gan.converter import ConverterConfig
        from faceswap_gan.io.media import iter_source

        model = self.model(project)
        try:
            config = ConverterConfig(**settings.get("convert", {}) | {"image_shape": None})
        except (TypeError, ValueError) as exc:
            raise UserError(f"invalid setting {exc}") from exc
        frame = next((f for f in iter_source(source, max_pixels=config.max_pixels) if f.index >= index), None)
        if frame is None:
            raise UserError(f"{source}: has no frame {index}")
        [image] = FramePipeline(model, config).run([frame], ConvertSummary())
        return image

    def start_convert(self, project: str, source: Path, settings: dict) -> Path:
        """Convert ``source`` in the background; returns the output path it will have (never an existing file)."""
        model = self.model(project)
        config = self._settings_file(project, "convert", settings, "convert")
        direction = settings.get("convert", {}).get("direction", "AtoB")
        suffix = ".png" if source.suffix.lower() in IMAGE_EXTENSIONS else ".mp4"
        folder = self.root / "outputs" / self._project(project)
        folder.mkdir(parents=True, exist_ok=True)
        out, n = folder / f"{source.stem}_{direction}{suffix}", 1
        while out.exists():
            n += 1
            out = folder / f"{source.stem}_{direction}-{n}{suffix}"
        job = self.job(project, "convert")
        job.start(["convert", str(source), "--model", str(model), "--out", str(out), "--config", str(config)])
        return out

    def result(self, project: str) -> Path | None:
        """The output of the last conversion, once it finished."""
        job = self.job(project, "convert")
        if job.status().state != "done":
            return None
        args = job.args()
        out = Path(args[args.index("--out") + 1]) if "--out" in args else None
        return out if out is not None and out.exists() else None
