import cv2
import numpy as np
import pytest

from faceswap_gan.faces.alignment import TEMPLATE, align_face, apply_affine, umeyama


def _similarity(angle_deg: float, scale: float, tx: float, ty: float) -> np.ndarray:
    a = np.deg2rad(angle_deg)
    return np.array([[scale * np.cos(a), -scale * np.sin(a), tx], [scale * np.sin(a), scale * np.cos(a), ty]])


def test_umeyama_recovers_a_known_similarity():
    rng = np.random.default_rng(1)
    src = rng.uniform(0, 100, (7, 2))
    truth = _similarity(23.0, 1.7, -12.0, 40.0)
    np.testing.assert_allclose(umeyama(src, apply_affine(truth, src))[:2], truth, atol=1e-9)


def test_umeyama_without_scale_and_with_noise():
    rng = np.random.default_rng(2)
    src = rng.uniform(0, 100, (50, 2))
    truth = _similarity(-8.0, 1.0, 3.0, 4.0)
    dst = apply_affine(truth, src) + rng.normal(0, 0.01, src.shape)
    np.testing.assert_allclose(umeyama(src, dst, estimate_scale=False)[:2], truth, atol=1e-2)


def test_umeyama_never_returns_a_reflection():
    src = np.random.default_rng(3).uniform(0, 10, (6, 2))
    fit = umeyama(src, src * [-1, 1])[:2, :2]  # the best fit of a mirror image is still a rotation
    assert np.linalg.det(fit) > 0


def test_umeyama_rejects_degenerate_points():
    with pytest.raises(ValueError):
        umeyama(np.ones((5, 2)), np.zeros((5, 2)))


def test_alignment_puts_the_landmarks_on_the_template(astronaut, detector):
    face = detector.detect_one(astronaut)[0]
    aligned = align_face(astronaut, face.landmarks, 256)
    assert aligned.image.shape == (256, 256, 3) and aligned.image.dtype == np.uint8
    # The least-squares fit cannot be exact for five points, but a real face is close to the template:
    # the eyes within 5 % of the size; her broad smile puts the mouth corners farther out.
    error = np.linalg.norm(aligned.landmarks - TEMPLATE * 256, axis=1)
    assert error[:2].max() < 0.05 * 256 and error.max() < 0.09 * 256
    # An independent check: MTCNN run again on the aligned face finds its eyes where the template says.
    again = detector.detect_one(aligned.image)[0]
    eye_distance = (TEMPLATE[1, 0] - TEMPLATE[0, 0]) * 256
    assert np.linalg.norm(again.landmarks[:2] - TEMPLATE[:2] * 256, axis=1).max() < 0.1 * eye_distance
    # The inverse takes aligned pixels back to the frame.
    np.testing.assert_allclose(apply_affine(aligned.inverse, aligned.landmarks), face.landmarks, atol=1e-6)
    back = cv2.warpAffine(aligned.image, aligned.inverse, astronaut.shape[1::-1])
    x0, y0, x1, y1 = face.box.astype(int)
    inner = (slice(y0 + 10, y1 - 10), slice(x0 + 10, x1 - 10))
    assert np.abs(back[inner].astype(int) - astronaut[inner]).mean() < 8
