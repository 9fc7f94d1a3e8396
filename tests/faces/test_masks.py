import numpy as np
import pytest

from faceswap_gan.faces.alignment import TEMPLATE, align_face
from faceswap_gan.faces.dlib_models import landmarks_68
from faceswap_gan.faces.masks import ALIGNED_FACE_BOX, eye_mask, eye_mask_rectangles
from faceswap_gan.io.media import iter_frames
from tests.conftest import CLIPS


@pytest.fixture(scope="module")
def aligned(detector):
    frame = next(iter_frames(CLIPS / "d18.mp4", 60)).image
    return align_face(frame, detector.detect_one(frame)[0].landmarks, 256)


@pytest.mark.media
def test_dlib_eye_mask_covers_the_eyes_and_nothing_else(aligned):
    mask, method = eye_mask(aligned.image, aligned.landmarks[:2])
    assert method == "dlib" and mask.shape == (256, 256) and mask.dtype == np.uint8
    points = landmarks_68(aligned.image, ALIGNED_FACE_BOX * 256)
    for eye in (points[36:42], points[42:48]):
        x, y = np.round(eye).astype(int).T
        assert mask[y, x].min() >= 200  # every eye contour point is inside the mask
    x, y = np.round(points[48:68]).astype(int).T
    assert mask[y, x].max() == 0  # the mouth is not
    assert mask[: int(0.15 * 256)].max() == 0 and mask[int(0.5 * 256) :].max() == 0
    assert 0.01 < (mask > 127).mean() < 0.12


@pytest.mark.media
def test_rectangles_replace_landmarks_that_disagree_with_the_detector(aligned):
    wrong_eyes = TEMPLATE[:2] * 256 + [0, 60]  # where the cheeks are
    mask, method = eye_mask(aligned.image, wrong_eyes)
    assert method == "rect"
    np.testing.assert_array_equal(mask, eye_mask_rectangles(wrong_eyes, 256))


def test_rectangles_have_the_original_proportions():
    mask = eye_mask_rectangles(np.array([[80.0, 90], [180, 90]]), 240)
    ys, xs = np.nonzero(mask[:, :130])
    assert (xs.min(), xs.max(), ys.min(), ys.max()) == (50, 110, 74, 106)  # x +- 240/8, y +- 240/15
    assert set(np.unique(mask)) == {0, 255}
