"""Every notebook runs top to bottom on real sample data with small settings, so none can silently rot.

As papermill does, a cell setting the test's values is inserted after the cell tagged "parameters".
"""

import nbformat
import pytest
from nbclient import NotebookClient

from faceswap_gan.config import ExtractConfig, ModelConfig, TrainConfig
from faceswap_gan.extract import prepare_dataset
from faceswap_gan.io.media import probe_video
from faceswap_gan.train import train_model
from tests.conftest import CLIPS, REPO


def run_notebook(name: str, cwd, **parameters) -> nbformat.NotebookNode:
    nb = nbformat.read(REPO / "notebooks" / f"{name}.ipynb", as_version=4)
    at = next(i for i, cell in enumerate(nb.cells) if "parameters" in cell.metadata.get("tags", []))
    nb.cells.insert(at + 1, nbformat.v4.new_code_cell("\n".join(f"{k} = {v!r}" for k, v in parameters.items())))
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}).execute()
    return nb


def images_shown(nb: nbformat.NotebookNode) -> int:
    return sum("image/png" in out.get("data", {}) for cell in nb.cells for out in cell.get("outputs", []))


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """Training data from d18 (A) and d6 (B), and a model trained on it for two iterations."""
    root = tmp_path_factory.mktemp("notebooks")
    prepare_dataset(CLIPS / "d18.mp4", CLIPS / "d6.mp4", root / "data", ExtractConfig(every=40), progress=False)
    config = TrainConfig(iterations=2, batch_size=2, display_every=2, workers=0, perceptual="none")
    train_model(root / "data", root / "run", ModelConfig(), config, progress=False)
    return root


@pytest.mark.slow
@pytest.mark.media
def test_extraction_notebook(work):
    nb = run_notebook("video_face_detection_alignment", work, VIDEO=str(CLIPS / "d18.mp4"), OUT="faces", EVERY=30)
    assert len(list((work / "faces" / "faces" / "aligned_faces").iterdir())) == 8
    assert images_shown(nb) == 1


@pytest.mark.slow
@pytest.mark.media
def test_masks_notebook(work):
    nb = run_notebook("prep_binary_masks", work, DATA=str(work / "data"))
    assert images_shown(nb) == 1


@pytest.mark.slow
@pytest.mark.media
def test_training_notebook(work):
    nb = run_notebook("faceswap_train", work, DATA=str(work / "data"), RUN="nb_run", TOTAL_ITERS=2, BATCH_SIZE=2,
                      display_iters=1)  # fmt: skip
    assert (work / "nb_run" / "checkpoints" / "latest.pt").is_file()
    assert images_shown(nb) == 3  # preview, loss plot, single-image swap


@pytest.mark.slow
@pytest.mark.media
def test_conversion_notebook(work):
    nb = run_notebook("faceswap_video_conversion", work, RUN=str(work / "run"), VIDEO=str(CLIPS / "d18.mp4"),
                      OUT="out.mp4", END=0.5)  # fmt: skip
    info = probe_video(work / "out.mp4")
    assert (info.frame_count, info.width) == (15, 3 * 480) and images_shown(nb) == 1


@pytest.mark.slow
@pytest.mark.media
def test_demo_notebook(work):
    nb = run_notebook("faceswap-demo", work, OUT="demo", TOTAL_ITERS=2)
    assert probe_video(work / "demo" / "swapped.mp4").frame_count == 100 and images_shown(nb) == 2
