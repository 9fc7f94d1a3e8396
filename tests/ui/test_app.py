"""The page's wiring without a browser: it builds over a workspace, and a handler's failure becomes one
readable message (a Gradio error), never a traceback."""

from __future__ import annotations

import pytest

gr = pytest.importorskip("gradio", reason="the web UI needs gradio (pip install -e '.[ui]')")

from faceswap_gan.errors import UserError  # noqa: E402
from faceswap_gan.ui.app import _guard, build_app, status_html  # noqa: E402
from faceswap_gan.ui.jobs import JobStatus  # noqa: E402
from faceswap_gan.ui.workspace import Workspace  # noqa: E402


def test_the_page_builds_over_an_empty_workspace(tmp_path):
    app = build_app(Workspace(tmp_path))
    ids = {getattr(block, "elem_id", None) for block in app.blocks.values()}
    assert {"prepare", "train", "stop", "convert", "preview-frame", "preview", "loss-plot"} <= ids
    assert {"extract-every", "train-iterations", "losses-w_eyes", "convert-output_type"} <= ids


@pytest.mark.parametrize(
    ("error", "shown"),
    [
        (UserError("data/x: no faces found"), "data/x: no faces found"),
        (FileNotFoundError(2, "No such file or directory", "/w/clip.mp4"), "/w/clip.mp4"),
        (KeyError("boom"), "internal error (KeyError"),
    ],
)
def test_handler_failures_become_one_readable_message(error, shown):
    def handler():
        raise error

    with pytest.raises(gr.Error) as caught:
        _guard(handler)()
    assert shown in caught.value.message and "Traceback" not in caught.value.message


def test_status_block_carries_its_state_and_escapes_the_message():
    block = status_html(JobStatus("train", "failed", 3, 10, message="<script>x</script>"))
    assert 'data-kind="train"' in block and 'data-state="failed"' in block
    assert "<script>" not in block and '<progress value="3" max="10">' in block
