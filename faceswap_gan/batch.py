"""Batch conversion: several videos and images, or a folder of them, into one output folder.

Each input becomes ``OUT/<its name>`` (videos keep a container we write, else .mp4). An output that is
already there is skipped unless ``overwrite``, so an interrupted batch resumes where it stopped; a file
that cannot be converted is named in the summary and the batch goes on.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from faceswap_gan.convert import convert_image, convert_video
from faceswap_gan.converter import ConverterConfig
from faceswap_gan.errors import UserError
from faceswap_gan.io.media import IMAGE_EXTENSIONS
from faceswap_gan.io.video import VIDEO_EXTENSIONS

# What a folder's files are taken for: images, and videos of the containers people usually have.
INPUT_VIDEO_EXTENSIONS = (*VIDEO_EXTENSIONS, ".avi", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv", ".ts")


@dataclass
class BatchSummary:
    converted: list[str] = field(default_factory=list)  # "NAME: what convert said"
    skipped: list[str] = field(default_factory=list)  # outputs already there
    failed: list[str] = field(default_factory=list)  # "NAME: why"

    def describe(self) -> str:
        total = len(self.converted) + len(self.skipped) + len(self.failed)
        lines = [f"{total} inputs: {len(self.converted)} converted, {len(self.skipped)} already there (skipped; "
                 f"--overwrite converts them again), {len(self.failed)} failed"]  # fmt: skip
        lines += [f"  failed: {line}" for line in self.failed]
        return "\n".join(lines)


def batch_inputs(sources: list[Path]) -> list[Path]:
    """The files to convert: the given files, and the videos and images directly inside given folders."""
    files = []
    for source in sources:
        if source.is_dir():
            found = sorted(
                p
                for p in source.iterdir()
                if p.is_file() and p.suffix.lower() in (*INPUT_VIDEO_EXTENSIONS, *IMAGE_EXTENSIONS)
            )
            if not found:
                raise UserError(f"{source}: no videos or images in this folder")
            files += found
        else:
            files.append(source)
    names = [f.stem for f in files]
    clashes = sorted({n for n in names if names.count(n) > 1})
    if clashes:
        raise UserError(f"several inputs are named {', '.join(clashes)}: their outputs would collide; rename them")
    return files


def output_for(source: Path, out_dir: Path) -> Path:
    suffix = source.suffix.lower()
    if suffix in IMAGE_EXTENSIONS:
        return out_dir / source.name
    return out_dir / (source.stem + (suffix if suffix in VIDEO_EXTENSIONS else ".mp4"))


def convert_many(
    sources: list[str | os.PathLike],
    model_path: str | os.PathLike,
    out_dir: str | os.PathLike,
    config: ConverterConfig,
    reference: str | None = None,
    overwrite: bool = False,
    progress: bool = True,
    report=print,
) -> BatchSummary:
    """Convert every input into ``out_dir``; ``report`` receives a line per input as it ends."""
    out_dir, summary = Path(out_dir), BatchSummary()
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"{out_dir}: is a file; several inputs need an output folder")
    files = batch_inputs([Path(s) for s in sources])
    out_dir.mkdir(parents=True, exist_ok=True)
    for source in files:
        out = output_for(source, out_dir)
        if out.exists() and not overwrite:
            summary.skipped.append(source.name)
            report(f"{source.name}: {out} is already there, skipped")
            continue
        try:
            if source.suffix.lower() in IMAGE_EXTENSIONS:
                result = convert_image(source, model_path, out, config, reference, overwrite)
            else:
                result = convert_video(source, model_path, out, config, reference=reference, progress=progress,
                                       overwrite=overwrite)  # fmt: skip
        except UserError as exc:  # this file only: the batch goes on
            summary.failed.append(str(exc))
            report(f"{source.name}: failed: {exc}")
            continue
        summary.converted.append(f"{source.name}: {result.describe()}")
        report(f"{source.name}: {result.describe()} -> {out}")
    return summary
