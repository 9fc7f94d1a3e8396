"""``alignments.json``: what extraction found, per frame, so that conversion can reuse it.

Version 1 layout::

    {"version": 1, "source": str, "video": {"width", "height", "fps", "frame_count"} | null,
     "config": {ExtractConfig fields},
     "frames": [{"index": int, "name": str, "time": float,
                 "skipped": null | "no_face" | "several_faces" | "too_small" | "not_reference",
                 "faces": [{"file": str, "box": [x0, y0, x1, y1], "face_box": [...], "score": float,
                            "landmarks": [[x, y] x 5], "matrix": 2x3, "inverse": 2x3, "mask_method": str}]}]}

Coordinates are frame pixels, x = column; ``matrix`` maps the frame to the aligned face.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from faceswap_gan.errors import UserError
from faceswap_gan.io.atomic import atomic_write

VERSION = 1


def write_alignments(path: str | os.PathLike, data: dict[str, Any]) -> None:
    with atomic_write(path) as tmp:
        tmp.write_text(json.dumps({"version": VERSION, **data}, indent=1))


def read_alignments(path: str | os.PathLike) -> dict[str, Any]:
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise UserError(f"{path}: no such file; run `faceswap-gan extract` first") from exc
    except (OSError, ValueError) as exc:
        raise UserError(f"{path}: not a readable alignments file ({exc})") from exc
    if not isinstance(data, dict) or data.get("version") != VERSION:
        found = data.get("version") if isinstance(data, dict) else None
        raise UserError(f"{path}: alignments version {found!r}, this faceswap-gan reads version {VERSION}")
    return data
