"""Output layouts of conversion, one table: how many frame widths each takes and how it is composed.
A new layout is one entry here (and its ``ImageOutputType`` member)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from faceswap_gan.converter import ImageOutputType

MASK_BACKDROP = 0.15  # the mask map shows the frame faintly behind the masks, as the original


@dataclass(frozen=True)
class Layout:
    panels: int  # output width in frame widths
    # (frame, result, alpha) -> output image: frame and result (H, W, 3) uint8 RGB, alpha (H, W) float
    # in [0, 1] or None where no face was swapped
    compose: Callable[[np.ndarray, np.ndarray, np.ndarray | None], np.ndarray]


def _mask_map(frame: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
    mask = MASK_BACKDROP * frame.astype(np.float32)
    if alpha is not None:
        mask = mask + 255 * alpha[..., None]
    return np.clip(mask, 0, 255).astype(np.uint8)


LAYOUTS: dict[ImageOutputType, Layout] = {
    ImageOutputType.SINGLE: Layout(1, lambda frame, result, alpha: result),
    ImageOutputType.COMBINED: Layout(2, lambda frame, result, alpha: np.hstack([frame, result])),
    ImageOutputType.TRIPLE: Layout(3, lambda frame, result, alpha: np.hstack([frame, result, _mask_map(frame, alpha)])),
}


def layout(frame: np.ndarray, result: np.ndarray, alpha: np.ndarray | None, output_type: ImageOutputType) -> np.ndarray:
    """SINGLE: result; COMBINED: [frame | result]; TRIPLE: [frame | result | masks over a faint frame]."""
    return LAYOUTS[output_type].compose(frame, result, alpha)
