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


def _handler(app, name: str):
    fns = app.fns.values() if isinstance(app.fns, dict) else app.fns
    return next(f for f in fns if f.name == name)


def _widget_outputs(handler, outputs) -> dict:
    return {getattr(block, "elem_id", None): value for block, value in zip(handler.outputs, outputs, strict=True)}


def test_page_load_sets_only_saved_settings_so_that_a_slow_load_keeps_what_was_typed(tmp_path):
    ws = Workspace(tmp_path)
    app = build_app(ws)
    load, change = _handler(app, "on_load"), _handler(app, "on_project")
    skip = gr.skip()
    fresh = _widget_outputs(load, load.fn("my-swap", {}))
    assert fresh["extract-every"] == skip and fresh["train-iterations"] == skip  # nothing saved: nothing sent
    ws.data_dir("my-swap").mkdir(parents=True)
    (ws.data_dir("my-swap") / "extract_config.yaml").write_text("every: 2\nsize: 96\n")
    saved = _widget_outputs(load, load.fn("my-swap", {}))
    assert saved["extract-every"] == 2 and saved["extract-size"] == 96 and saved["train-iterations"] == skip
    switched = _widget_outputs(change, change.fn("my-swap", {}))  # another project: its settings, else defaults
    assert switched["extract-every"] == 2 and switched["train-iterations"] == 40000
