"""Quality while training: held-out identity at every display interval, and the stopping rule."""

import numpy as np
import pytest

from faceswap_gan.config import ExtractConfig, ModelConfig, TrainConfig
from faceswap_gan.errors import UserError
from faceswap_gan.extract import prepare_dataset
from faceswap_gan.io.media import read_image
from faceswap_gan.sample_clips import make_sample_clip
from faceswap_gan.train import train_model
from faceswap_gan.training.data import FaceSet
from faceswap_gan.training.held_out import HeldOutJudge, reached
from faceswap_gan.training.reporting import CAPTION, read_losses


def test_the_stopping_rule_wants_both_ways_at_two_intervals_in_a_row():
    row = lambda a, b: {"iteration": 1, "id_a2b": a, "id_b2a": b}  # noqa: E731
    assert not reached([row(0.9, 0.9)], 0.8)  # one interval is not two
    assert not reached([row(0.9, 0.9), row(0.9, 0.7)], 0.8)  # B into A not there yet
    assert not reached([row(0.9, 0.9), row(0.5, 0.9), row(0.9, 0.9)], 0.8)  # not in a row
    assert reached([row(0.5, 0.5), row(0.85, 0.9), row(0.8, 0.95)], 0.8)
    assert not reached([{"iteration": 1, "d_a": 0.1}] * 3, 0.0)  # no held-out faces measured


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("held")
    a = make_sample_clip("astronaut", root / "a.mp4", seconds=1.2)
    b = make_sample_clip("grace_hopper", root / "b.mp4", seconds=1.2, seed=1)
    prepare_dataset(a, b, root / "data", ExtractConfig(every=2), progress=False)
    return root / "data"


@pytest.mark.slow
def test_held_out_identity_is_logged_and_until_identity_stops_a_real_run(data, tmp_path):
    config = TrainConfig(iterations=40, batch_size=2, display_every=2, workers=0, device="cpu", perceptual="none",
                         until_identity=0.0)  # fmt: skip
    summary = train_model(data, tmp_path / "run", ModelConfig(64, "lite", "hybrid", False), config, progress=False)
    assert summary.iterations_done == 4  # two display intervals at level 0 or more: it stops at the second
    rows = read_losses(tmp_path / "run" / "losses.csv")
    assert [r["iteration"] for r in rows] == [2, 4]
    assert all(0 <= r["id_a2b"] <= 1 and 0 <= r["id_b2a"] <= 1 and "margin_a2b" in r for r in rows)
    assert all(0 <= r["raw_a2b"] <= 1 and 0 <= r["raw_b2a"] <= 1 for r in rows)
    assert (tmp_path / "run" / "loss_plot.png").stat().st_size > 10_000  # with its identity panel
    preview = read_image(tmp_path / "run" / "previews" / "iter_000004.png")
    assert preview.shape[0] == 8 * 64 + CAPTION and preview[:CAPTION].min() < 100  # the identity line, drawn


class _Pasting:
    """A stand-in generator whose "swap" of a face is a real face of the other person (what a perfect
    model would draw) with a constant alpha mask."""

    resolution = 64

    def __init__(self, judge: HeldOutJudge, alpha: float) -> None:
        self.judge, self.alpha = judge, alpha

    def swap(self, faces: np.ndarray, direction: str) -> tuple[np.ndarray, np.ndarray]:
        other = self.judge.held["b" if direction == "AtoB" else "a"]
        drawn = np.stack([other[i % len(other)].model_input for i in range(len(faces))])
        return np.full(faces.shape[:3], self.alpha, np.float32), drawn


def test_the_held_out_judge_measures_what_convert_would_show(data):
    training = FaceSet.from_data_dir(data, "src"), FaceSet.from_data_dir(data, "dst")
    judge = HeldOutJudge.load(data, training, 64)
    # The other person's real face, pasted as convert pastes it (colour-corrected to the input, in the input's
    # head), reads as that person...
    pasted = judge.measure(_Pasting(judge, alpha=1.0))
    assert pasted["id_a2b"] == pasted["id_b2a"] == 1.0 and pasted["margin_a2b"] > 0 and pasted["margin_b2a"] > 0
    # ...but with a zero mask the conversion shows the input person, however well the decoder draws.
    hidden = judge.measure(_Pasting(judge, alpha=0.0))
    assert hidden["id_a2b"] == hidden["id_b2a"] == 0.0 and hidden["margin_a2b"] < 0 and hidden["alpha_a2b"] == 0
    assert hidden["raw_a2b"] == hidden["raw_b2a"] == 1.0  # the decoder's own face is judged apart


def test_until_identity_without_held_out_faces_is_one_line(tmp_path):
    from faceswap_gan.io.media import write_image
    from faceswap_gan.sample_clips import sample_photo

    for side, name in (("src", "astronaut"), ("dst", "grace_hopper")):
        (tmp_path / f"face_{side}").mkdir()
        write_image(tmp_path / f"face_{side}" / "f.png", sample_photo(name)[:256, 128:384])
    config = TrainConfig(iterations=2, batch_size=2, workers=0, device="cpu", perceptual="none", until_identity=0.8)
    with pytest.raises(UserError, match="--until-identity needs held-out faces"):
        train_model(tmp_path, tmp_path / "run", ModelConfig(64, "lite", "hybrid", False), config, progress=False)
