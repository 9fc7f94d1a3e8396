import cv2
import numpy as np
import pytest

from faceswap_gan.errors import StreamBroken, UserError
from faceswap_gan.io.media import count_source, iter_frames, iter_source, probe_video, read_image, write_image
from faceswap_gan.io.video import VideoWriter, rgb_to_yuv420
from tests.conftest import CLIPS, PHOTOS


@pytest.mark.media
def test_probe_reports_size_rate_length_and_audio():
    info = probe_video(CLIPS / "d18.mp4")
    assert (info.width, info.height, info.frame_count) == (480, 480, 216)
    assert info.fps == pytest.approx(30, abs=0.01) and info.duration == pytest.approx(7.2, abs=0.05)
    assert info.has_audio and info.audio_rate == 44100
    assert not probe_video(CLIPS / "d13.mp4").has_audio and probe_video(CLIPS / "d13.mp4").audio_rate is None


@pytest.mark.media
def test_iter_frames_streams_every_nth_frame_as_rgb():
    frames = list(iter_frames(CLIPS / "d18.mp4", every=50))
    assert [f.index for f in frames] == [0, 50, 100, 150, 200]
    assert [f.name for f in frames][:2] == ["frame0", "frame50"]
    assert frames[1].time == pytest.approx(50 / 30, abs=1e-3)
    image = frames[0].image
    assert image.shape == (480, 480, 3) and image.dtype == np.uint8 and image.flags.c_contiguous
    # RGB, not BGR: skin is redder than it is blue in the middle of a face.
    centre = image[200:280, 200:280].reshape(-1, 3).mean(0)
    assert centre[0] > centre[2]
    assert count_source(CLIPS / "d18.mp4", 50) == 5


@pytest.mark.media
@pytest.mark.parametrize("kind", ["8bit", "16bit", "gray", "bgra"])
def test_read_image_converts_every_kind_to_rgb8(tmp_path, kind):
    bgr = cv2.imread(str(PHOTOS / "obama-240p.jpg"))
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    stored = {"8bit": bgr, "16bit": bgr.astype(np.uint16) * 257, "gray": gray,
              "bgra": cv2.cvtColor(bgr, cv2.COLOR_BGR2BGRA)}[kind]  # fmt: skip
    cv2.imwrite(str(tmp_path / "x.png"), stored)
    expected = np.repeat(gray[..., None], 3, axis=2) if kind == "gray" else bgr[..., ::-1]
    np.testing.assert_array_equal(read_image(tmp_path / "x.png"), expected)


@pytest.mark.media
def test_read_image_32bit_png_from_the_samples():
    image = read_image(PHOTOS / "32bit.png")
    assert image.ndim == 3 and image.shape[2] == 3 and image.dtype == np.uint8


def test_write_then_read_round_trip(tmp_path):
    image = np.random.default_rng(0).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    write_image(tmp_path / "a.png", image)
    np.testing.assert_array_equal(read_image(tmp_path / "a.png"), image)


def test_bad_inputs_are_user_errors_naming_the_file(tmp_path):
    (tmp_path / "notes.mp4").write_text("not a video")
    (tmp_path / "empty").mkdir()
    (tmp_path / "bad.png").write_bytes(b"\x89PNG broken")
    cases = [(tmp_path / "missing.mp4", "no such file"), (tmp_path / "notes.mp4", "not a readable video"),
             (tmp_path / "empty", "no images"), (tmp_path / "bad.png", "not a readable image")]  # fmt: skip
    for path, message in cases:
        with pytest.raises(UserError, match=message) as info:
            count_source(path) if path.suffix != ".png" else read_image(path)
        assert str(path) in str(info.value)


@pytest.mark.media
def test_a_stream_that_breaks_keeps_the_frames_before(tmp_path):
    data = bytearray((CLIPS / "d18.mp4").read_bytes())
    middle = len(data) // 2
    data[middle : middle + 20000] = bytes(20000)
    (tmp_path / "broken.mp4").write_bytes(bytes(data))
    frames = []
    with pytest.raises(StreamBroken, match="breaks after frame"):
        for frame in iter_source(tmp_path / "broken.mp4"):
            frames.append(frame.index)
    assert 10 < len(frames) < 216 and frames == list(range(len(frames)))


def test_video_writer_publishes_only_a_complete_file(tmp_path):
    target = tmp_path / "out.mp4"
    target.write_bytes(b"previous good result")
    with pytest.raises(RuntimeError), VideoWriter(target, 25, 64, 48) as writer:
        writer.write(np.zeros((48, 64, 3), np.uint8))
        raise RuntimeError("interrupted")
    assert target.read_bytes() == b"previous good result"
    assert [p.name for p in tmp_path.iterdir()] == ["out.mp4"]
    with VideoWriter(target, 25, 64, 48) as writer:
        for i in range(10):
            writer.write(np.full((48, 64, 3), i * 20, np.uint8))
    info = probe_video(target)
    assert (info.width, info.height, info.frame_count) == (64, 48, 10)


def test_h264_is_encoded_with_the_preset_and_the_faster_sub_pixel_search(tmp_path):
    """x264 writes its settings into the stream: they show what reached the encoder (PyAV drops a
    misspelt option without a word)."""
    with VideoWriter(tmp_path / "out.mp4", 25, 64, 48) as writer:
        writer.write(np.zeros((48, 64, 3), np.uint8))
    settings = (tmp_path / "out.mp4").read_bytes()
    assert b"subme=1 " in settings and b"crf=18.0 " in settings and b"rc_lookahead=10 " in settings


@pytest.mark.media
def test_the_writers_colour_conversion_is_swscales_limited_range_bt601():
    # the writer converts RGB to YUV 4:2:0 itself (fast); FFmpeg's default conversion is the reference
    av = pytest.importorskip("av")
    image = next(iter_frames(CLIPS / "d18.mp4", every=50)).image
    ours = rgb_to_yuv420(image).astype(int)
    theirs = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p").to_ndarray().astype(int)
    assert ours.shape == theirs.shape == (720, 480)
    luma, chroma = np.abs(ours - theirs)[:480], np.abs(ours - theirs)[480:]
    assert luma.max() <= 1 and luma.mean() < 0.05  # a limited-range BT.601 luma like FFmpeg's, not full range
    assert chroma.max() <= 3 and chroma.mean() < 0.25  # the 2x2 subsampling filters differ at a few edges
