"""Conversion: pure pieces against hand-made expectations, then real clips through the CLI."""

import av
import numpy as np
import pytest

from faceswap_gan.compositing.color import adain, adain_xyz, hist_match
from faceswap_gan.compositing.layouts import layout
from faceswap_gan.compositing.swapper import SwappedFace, composite, paste, prepare_aligned
from faceswap_gan.convert import ConvertSummary, FramePipeline, convert_video
from faceswap_gan.converter import ConverterConfig, ImageOutputType, SegmentationType
from faceswap_gan.faces.alignment import align_face
from faceswap_gan.faces.dlib_models import landmarks_68
from faceswap_gan.faces.masks import ALIGNED_FACE_BOX, part_mask
from faceswap_gan.faces.mtcnn import MTCNNDetector
from faceswap_gan.faces.tracking import FaceTracker, KalmanPoints, MovingAverage
from faceswap_gan.io.media import iter_frames, probe_video, read_image
from tests.conftest import CLIPS, PHOTOS
from tests.test_extract import run_cli


def _noisy_track(seed: int = 0):
    """A point moving right at 0.8 px/frame with 3 px measurement noise (120 frames)."""
    truth = np.stack([np.linspace(100, 196, 120), np.full(120, 50.0)], axis=1)[:, None, :]
    return truth, truth + np.random.default_rng(seed).normal(0, 3, truth.shape)


@pytest.mark.parametrize("smoother", [lambda p: KalmanPoints(p, 1e-3), lambda p: MovingAverage(p, 0.65)])
def test_smoothers_lower_jitter_and_follow_a_moving_face(smoother):
    truth, noisy = _noisy_track()
    s = smoother(noisy[0])
    out = np.array([s.update(p) for p in noisy])
    jitter = lambda a: np.abs(np.diff(a[30:, 0, 1])).mean()  # noqa: E731 - frame-to-frame motion where there is none
    assert jitter(out) < 0.4 * jitter(noisy)
    assert np.abs(out[-30:, 0, 0] - truth[-30:, 0, 0]).mean() < 3.5  # keeps up with the motion


@pytest.mark.media
def test_each_face_keeps_its_own_track(detector):
    two = read_image(PHOTOS / "two_people.jpg")
    faces = detector.detect_one(two)
    tracker = FaceTracker()
    first = {track.id: det.box for track, det in tracker.update(faces)}
    shifted = [type(f)(f.box + 3, f.score, f.landmarks + 3) for f in faces]
    second = {track.id: det.box for track, det in tracker.update(shifted)}
    assert first.keys() == second.keys() and len(first) == len(faces) >= 2


def test_adain_gives_the_reference_mean_and_std():
    rng = np.random.default_rng(0)
    source = rng.integers(40, 120, (32, 32, 3)).astype(np.uint8)
    reference = rng.integers(100, 250, (32, 32, 3)).astype(np.uint8)
    out = adain(source, reference).astype(float)
    np.testing.assert_allclose(out.mean((0, 1)), reference.mean((0, 1)), atol=0.6)
    np.testing.assert_allclose(out.std((0, 1)), reference.std((0, 1)), atol=0.6)
    assert adain_xyz(source, reference).shape == source.shape


def test_hist_match_gives_the_reference_histogram():
    rng = np.random.default_rng(1)
    source = rng.integers(0, 256, (40, 40, 3)).astype(np.uint8)  # enough levels to express any histogram
    reference = (rng.random((40, 40, 3)) ** 2 * 255).astype(np.uint8)
    out = hist_match(source, reference)
    for c in range(3):
        q = np.linspace(0.05, 0.95, 19)
        np.testing.assert_allclose(np.quantile(out[..., c], q), np.quantile(reference[..., c], q), atol=4)


def test_layouts_have_the_right_shapes():
    frame, result, alpha = np.zeros((6, 8, 3), np.uint8), np.ones((6, 8, 3), np.uint8), np.ones((6, 8), np.float32)
    assert layout(frame, result, alpha, ImageOutputType.SINGLE).shape == (6, 8, 3)
    assert layout(frame, result, alpha, ImageOutputType.COMBINED).shape == (6, 16, 3)
    triple = layout(frame, result, None, ImageOutputType.TRIPLE)
    assert triple.shape == (6, 24, 3) and triple[:, 16:].max() == 0


def test_an_aligned_face_is_swapped_in_its_central_roi_only():
    # What training's held-out judge converts: the ROI of roi_coverage at the model's size, then the swap
    # feathered back into the aligned face itself, nothing outside the ROI touched.
    face = np.random.default_rng(0).integers(0, 256, (256, 256, 3), dtype=np.uint8)
    config = ConverterConfig(image_shape=(64, 64, 3), color_correction="none", roi_coverage=0.9)
    prepared = prepare_aligned(face, config)
    assert prepared.inset == 25 and prepared.model_input.shape == (64, 64, 3)
    grey = np.full((64, 64, 3), 200, np.uint8)
    swapped = paste(prepared, np.ones((64, 64), np.float32), grey, config)
    outside = np.ones((256, 256), bool)
    outside[25:-25, 25:-25] = False
    assert np.array_equal(swapped[outside], face[outside]) and np.all(swapped[100:156, 100:156] == 200)
    assert np.array_equal(paste(prepared, np.zeros((64, 64), np.float32), grey, config), face)


@pytest.mark.media
@pytest.mark.parametrize("enhance", [0.0, 0.3, 1.0])
def test_composite_equals_the_whole_frame_blend(enhance):
    # The whole-frame formula in float, two overlapping faces blended in order, then the contrast boost:
    # composite works on the faces' box only and must give the same bytes.
    frame = read_image(PHOTOS / "obama-720p.jpg")
    rng = np.random.default_rng(0)
    faces = [
        SwappedFace(
            x0, y0, rng.uniform(0, 255, (h, w, 3)).astype(np.float32), rng.uniform(0, 1, (h, w)).astype(np.float32)
        )
        for x0, y0, h, w in [(300, 100, 180, 160), (400, 200, 150, 220)]
    ]
    expected, alpha_expected = frame.astype(np.float32), np.zeros(frame.shape[:2], np.float32)
    for f in faces:
        region = (slice(f.y0, f.y0 + f.alpha.shape[0]), slice(f.x0, f.x0 + f.alpha.shape[1]))
        expected[region] = f.alpha[..., None] * f.colour + (1 - f.alpha[..., None]) * expected[region]
        alpha_expected[region] = np.maximum(alpha_expected[region], f.alpha)
    expected = np.clip((1 + enhance) * expected - enhance * frame, 0, 255).round().astype(np.uint8)
    result, alpha = composite(frame, faces, enhance)
    np.testing.assert_array_equal(result, expected)
    np.testing.assert_array_equal(alpha, alpha_expected)
    unchanged = composite(frame, [], enhance)[0]
    assert unchanged is not frame and np.array_equal(unchanged, frame)


@pytest.mark.media
def test_part_masks_cover_their_parts_and_nothing_else(detector):
    frame = next(iter_frames(CLIPS / "d18.mp4", 60)).image
    face = align_face(frame, detector.detect_one(frame)[0].landmarks, 256)
    points = landmarks_68(face.image, ALIGNED_FACE_BOX * 256)
    at = lambda mask, idx: mask[np.round(points[idx, 1]).astype(int), np.round(points[idx, 0]).astype(int)]  # noqa: E731
    eyes, mouth, nose = list(range(36, 48)), list(range(48, 60)), list(range(27, 36))
    mask = part_mask(points, SegmentationType.MOUTH_ONLY.parts, 256)
    assert at(mask, mouth).min() > 0.9 and at(mask, eyes).max() == 0
    mask = part_mask(points, SegmentationType.EYES_ONLY.parts, 256)
    assert at(mask, eyes).min() > 0.9 and at(mask, mouth).max() == 0
    mask = part_mask(points, SegmentationType.EYES_AND_MOUTH.parts, 256)
    assert at(mask, eyes + mouth).min() > 0.9 and mask[:, :10].max() == 0
    assert at(part_mask(points, ("nose",), 256), nose).min() > 0.9


def test_config_names_the_bad_field_and_takes_the_originals_values():
    with pytest.raises(ValueError, match="^roi_coverage: must be in"):
        ConverterConfig(roi_coverage=1.2)
    with pytest.raises(ValueError, match="^full_detection_every: must be in >= 1"):
        ConverterConfig(full_detection_every=0)
    with pytest.raises(ValueError, match="^direction: must be one of AtoB, BtoA"):
        ConverterConfig(direction="AtoC")
    config = ConverterConfig(output_type="triple", segmentation=SegmentationType.EYES_ONLY, color_correction="adain")
    assert config.output_type is ImageOutputType.TRIPLE and config.segmentation.parts == ("eyes",)


# -- end to end -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """A lite 64 px model trained for two iterations on faces of d18 and d6."""
    from faceswap_gan.config import ExtractConfig, ModelConfig, TrainConfig
    from faceswap_gan.extract import prepare_dataset
    from faceswap_gan.train import train_model

    root = tmp_path_factory.mktemp("model")
    prepare_dataset(CLIPS / "d18.mp4", CLIPS / "d6.mp4", root / "data", ExtractConfig(every=40), progress=False)
    config = TrainConfig(iterations=2, batch_size=2, display_every=2, workers=0, device="cpu", perceptual="none")
    train_model(root / "data", root / "run", ModelConfig(), config, progress=False)
    return root / "run"


def _audio_seconds(path) -> float | None:
    with av.open(str(path)) as container:
        if not container.streams.audio:
            return None
        stream = container.streams.audio[0]
        return float(stream.duration * stream.time_base)


@pytest.mark.slow
@pytest.mark.media
@pytest.mark.parametrize("output_type, width", [("single", 480), ("combined", 960), ("triple", 1440)])
def test_convert_keeps_frames_rate_size_and_sound(model_dir, tmp_path, capsys, output_type, width):
    out = tmp_path / "out.mp4"
    code, stdout, err = run_cli(capsys, "convert", CLIPS / "d18.mp4", "--model", model_dir, "--out", out,
                                "--end", 1.0, "--output-type", output_type, "--quiet")  # fmt: skip
    assert code == 0, err
    assert "30 frames, 30 with a face swapped" in stdout
    info = probe_video(out)
    assert (info.frame_count, info.fps, info.width, info.height) == (30, 30.0, width, 480)
    assert _audio_seconds(out) == pytest.approx(1.0, abs=0.05)


@pytest.mark.slow
@pytest.mark.media
def test_stages_side_by_side_give_each_frame_its_own_result_in_order(model_dir, tmp_path):
    """The threaded conversion against the same work done one batch after another in this thread."""
    config = ConverterConfig(output_type="combined", crf=0)
    out = tmp_path / "out.mp4"
    convert_video(CLIPS / "d18.mp4", model_dir, out, config, end=1.0, progress=False, batch_size=2)
    frames = [f for f in iter_frames(CLIPS / "d18.mp4") if f.time < 1.0 - 1e-6]
    pipeline = FramePipeline(model_dir, config, None)
    expected = [image for i in range(0, len(frames), 2) for image in pipeline.run(frames[i : i + 2], ConvertSummary())]
    outputs = [f.image.astype(np.int16) for f in iter_frames(out)]
    assert len(outputs) == len(expected) == 30
    for k, output in enumerate(outputs):  # each output frame is nearest to its own expected frame
        distances = [np.abs(output - e).mean() for e in expected]
        assert int(np.argmin(distances)) == k and distances[k] < 2.0, (k, distances[k])


@pytest.mark.slow
@pytest.mark.media
def test_convert_portrait_video_without_sound_changes_only_the_face(model_dir, tmp_path, capsys):
    out = tmp_path / "portrait.mp4"
    code, _, err = run_cli(capsys, "convert", CLIPS / "d13.mp4", "--model", model_dir, "--out", out, "--start", 1.0,
                           "--end", 2.0, "--output-type", "single", "--crf", 0, "--quiet")  # fmt: skip
    assert code == 0, err
    info = probe_video(out)
    assert (info.width, info.height, info.frame_count) == (720, 1280, 30) and _audio_seconds(out) is None
    source = next(f.image for f in iter_frames(CLIPS / "d13.mp4") if f.time >= 1.0).astype(int)
    result = next(iter_frames(out)).image.astype(int)
    face = MTCNNDetector().detect_one(source.astype(np.uint8))[0]
    x0, y0, x1, y1 = face.box.astype(int)
    near_face = np.zeros(source.shape[:2], bool)
    near_face[max(y0 - 60, 0) : y1 + 60, max(x0 - 60, 0) : x1 + 60] = True
    assert np.abs(result - source)[~near_face].mean() < 2.0  # outside the face: only codec noise
    assert np.abs(result - source)[y0:y1, x0:x1].mean() > 4.0  # the face itself was replaced


@pytest.mark.slow
@pytest.mark.media
def test_ctrl_c_during_conversion_keeps_the_previous_output(model_dir, tmp_path, capsys, monkeypatch):
    """KeyboardInterrupt raised inside a swapping worker reaches the command through the worker's result:
    it stops within a batch or two with code 130, the previous output stays, and no partial file is left.
    (A real Ctrl-C reaches the main thread, which waits on the workers; checked by hand: about 1 s.)"""
    out = tmp_path / "out.mp4"
    out.write_bytes(b"previous result")
    render, calls = FramePipeline.render, []

    def interrupted_render(self, located):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return render(self, located)

    monkeypatch.setattr(FramePipeline, "render", interrupted_render)
    args = ["--out", out, "--overwrite", "--quiet"]
    code, _, err = run_cli(capsys, "convert", CLIPS / "d18.mp4", "--model", model_dir, *args)
    assert code == 130 and "interrupted" in err and "resume training" not in err, err
    assert len(calls) < 8  # stopped near the third batch, not at the end of the video
    assert out.read_bytes() == b"previous result" and [p.name for p in tmp_path.iterdir()] == ["out.mp4"]


@pytest.mark.slow
@pytest.mark.media
def test_an_image_converts_to_an_image(model_dir, tmp_path, capsys):
    args = ["--out", tmp_path / "b.png", "--output-type", "triple", "--segmentation", "eyes_and_mouth"]
    code, stdout, _ = run_cli(capsys, "convert", PHOTOS / "biden.jpg", "--model", model_dir, *args)
    assert code == 0 and "with a face swapped" in stdout
    source, out = read_image(PHOTOS / "biden.jpg"), read_image(tmp_path / "b.png")
    assert out.shape == (source.shape[0], 3 * source.shape[1], 3)


@pytest.mark.slow
@pytest.mark.media
def test_failures_are_one_line_and_keep_the_previous_output(model_dir, tmp_path, capsys, blank_video):
    out = tmp_path / "out.mp4"
    out.write_bytes(b"previous result")
    broken = tmp_path / "broken.mp4"
    data = bytearray((CLIPS / "d18.mp4").read_bytes())
    data[len(data) // 2 : len(data) // 2 + 20000] = bytes(20000)
    broken.write_bytes(bytes(data))
    (tmp_path / "notes.txt").write_text("not a model")
    cases = [(broken, model_dir, "stream breaks"), (CLIPS / "d18.mp4", tmp_path / "notes.txt", "not a faceswap-gan"),
             (tmp_path / "missing.mp4", model_dir, "no such file")]  # fmt: skip
    for source, model, message in cases:
        code, _, err = run_cli(capsys, "convert", source, "--model", model, "--out", out, "--overwrite", "--quiet")
        assert code == 1 and message in err and "Traceback" not in err, err
        assert out.read_bytes() == b"previous result"
        assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    # A video without faces passes through unchanged in length.
    code, stdout, _ = run_cli(
        capsys, "convert", blank_video, "--model", model_dir, "--out", out, "--overwrite", "--quiet"
    )
    assert code == 0 and "12 frames, 0 with a face swapped" in stdout


@pytest.mark.slow
@pytest.mark.media
def test_precision_auto_asks_for_bf16_attention_products_and_moves_colours_by_a_level_at_most(model_dir):
    from faceswap_gan.nets import attention as attention_module
    from faceswap_gan.runtime import cpu_flags

    frames = [f for f in iter_frames(CLIPS / "d18.mp4") if f.time < 0.2]
    images, asked = {}, {}
    for precision in ("fp32", "auto"):
        pipeline = FramePipeline(model_dir, ConverterConfig(output_type="single", precision=precision), None)
        swap, asked[precision] = pipeline.model.swap, []
        pipeline.model.swap = lambda *a, swap=swap, seen=asked[precision]: (  # noqa: E731
            seen.append(attention_module._products_asked()) or swap(*a)
        )
        images[precision] = np.stack(pipeline.run(frames, ConvertSummary())).astype(int)
    assert asked == {"fp32": [False], "auto": [True]}
    difference = np.abs(images["auto"] - images["fp32"])
    if "avx512_bf16" in cpu_flags() and attention_module.kernel_available():
        assert difference.max() > 0  # the products ran in bf16
    assert difference.max() <= 1, difference.max()  # measured: 1, in a few pixels (mean 5e-7)


@pytest.mark.parametrize(("cores", "threads"), [(1, 1), (2, 1), (16, 0)])
def test_the_encoder_runs_in_the_calling_thread_on_two_cores(monkeypatch, cores, threads):
    import faceswap_gan.convert as convert_module

    monkeypatch.setattr(convert_module, "usable_cores", lambda: cores)
    assert convert_module.encoder_threads() == threads
