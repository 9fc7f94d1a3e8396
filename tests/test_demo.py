import re

import pytest
import yaml

from faceswap_gan.io.media import probe_video, read_image
from tests.test_extract import run_cli


@pytest.mark.slow
def test_demo_runs_the_whole_pipeline_on_the_built_in_clips(tmp_path, capsys):
    code, out, err = run_cli(capsys, "demo", "--out", tmp_path / "demo", "--iterations", 2, "--quiet")
    assert code == 0, err
    assert "swapped video" in out and "loss plot" in out and re.search(r"identity transfer  [01]\.\d\d", out)
    assert (tmp_path / "demo" / "evaluation" / "report.json").is_file()
    demo = tmp_path / "demo"
    # The built-in pair continues from its shipped model (the user's clips would start from the face prior).
    settings = yaml.safe_load((demo / "run" / "config.yaml").read_text())
    assert settings["train"]["prior"].endswith("demo64.pt") and "trained ahead of time" in out
    clip = probe_video(demo / "clips" / "astronaut.mp4")
    swapped, side = probe_video(demo / "swapped.mp4"), probe_video(demo / "side_by_side.mp4")
    assert swapped.frame_count == side.frame_count == clip.frame_count == 100
    assert (swapped.width, side.width, side.height) == (clip.width, 3 * clip.width, clip.height)
    faces = [*(demo / "data" / "face_src").iterdir(), *(demo / "data" / "face_src_holdout").iterdir()]
    assert len(faces) >= 45  # every second frame has her face (8 of them held out of training)
    assert read_image(demo / "run" / "loss_plot.png").shape[0] > 100
