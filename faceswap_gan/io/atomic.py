"""Files that appear only when complete: write to a hidden temporary name beside the target, rename on
success, remove the temporary file on failure. A crash never leaves half a file where a good one was."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def partial_path(path: str | os.PathLike) -> Path:
    """The temporary name used for ``path`` while it is being written (same folder, same extension)."""
    path = Path(path)
    return path.with_name(f".{path.stem}.partial{path.suffix}")


@contextmanager
def atomic_write(path: str | os.PathLike) -> Iterator[Path]:
    """Yield the temporary path to write; it becomes ``path`` when the block ends without error."""
    tmp = partial_path(path)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def publish_folder(staging: Path, final: Path) -> None:
    """Move a finished staging folder to ``final``, replacing what was there only at the last moment."""
    final.parent.mkdir(parents=True, exist_ok=True)
    old = final.with_name(f".{final.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        final.rename(old)
    staging.rename(final)
    shutil.rmtree(old, ignore_errors=True)
