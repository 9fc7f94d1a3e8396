"""The web page of ``faceswap-gan ui`` (Gradio), laid out as FaceFusion users know it: options on the
left, inputs and actions in the middle, a large preview on the right. Every handler is a thin call into
``Workspace`` (workspace.py), which does the work; this module only wires widgets to it.

Local by design: no analytics, no share link, no fonts or scripts from the internet (the theme uses the
system's fonts), and only the workspace's files are served.
"""

import functools
import html
import logging
import os
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # before gradio is imported: no usage reports

import gradio as gr  # noqa: E402

from faceswap_gan.errors import UserError, os_error_message  # noqa: E402
from faceswap_gan.ui.forms import (  # noqa: E402
    FORMS,
    FieldSpec,
    choice_label,
    field_specs,
    settings_to_values,
    values_to_settings,
)  # noqa: E402
from faceswap_gan.ui.jobs import JobStatus  # noqa: E402
from faceswap_gan.ui.workspace import Workspace  # noqa: E402

log = logging.getLogger(__name__)
TITLES = {"extract": "Extract", "model": "Model", "train": "Training", "losses": "Loss weights", "convert": "Convert"}
THEME = gr.themes.Default(font=["ui-sans-serif", "system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"])
CSS = ".fsg-status progress { width: 100%; } .fsg-status { font-size: 0.95em; }"


def _guard(fn):
    """A handler's failure as one readable message in the page (a Gradio error toast), never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except UserError as exc:
            raise gr.Error(str(exc), print_exception=False) from exc
        except OSError as exc:
            raise gr.Error(os_error_message(exc), print_exception=False) from exc
        except Exception as exc:  # a bug: the server's log gets the traceback, the page one line
            log.exception("handler %s failed", fn.__name__)
            raise gr.Error(f"internal error ({type(exc).__name__}: {exc}); the server's log has the details") from exc

    return wrapper


def status_html(status: JobStatus) -> str:
    """A job's state as a small block the page (and the browser test) reads: data-state is its state."""
    bar = f'<progress value="{status.done}" max="{status.total}"></progress>' if status.total else ""
    return (
        f'<div class="fsg-status" data-kind="{status.kind}" data-state="{status.state}">{bar}'
        f"<span>{html.escape(status.describe())}</span></div>"
    )


def _widget(spec: FieldSpec) -> gr.components.Component:
    common = {"label": spec.label, "info": spec.doc, "elem_id": f"{spec.form}-{spec.name}"}
    if spec.kind == "choice":
        return gr.Dropdown(choices=[choice_label(c) for c in spec.choices], value=choice_label(spec.default), **common)
    if spec.kind == "bool":
        return gr.Checkbox(value=spec.default, **common)
    if spec.kind in ("int", "float"):
        return gr.Number(value=spec.default, precision=0 if spec.kind == "int" else None, **common)
    return gr.Textbox(value=spec.default or "", **common)


def _gallery(ws: Workspace, project: str, person: str) -> list[tuple[str, str]]:
    try:
        return [(str(p), p.name) for p in ws.faces(project, person)]
    except UserError:  # no project name yet
        return []


def build_app(ws: Workspace) -> gr.Blocks:
    specs = [spec for form in FORMS for spec in field_specs(form)]
    projects = ws.projects()
    with gr.Blocks(title="faceswap-gan", analytics_enabled=False) as app:
        gr.Markdown("## faceswap-gan: two people in, a swapped video out")
        shown = gr.State({})
        with gr.Row(equal_height=False):
            with gr.Column(scale=1, min_width=300):
                widgets = []
                for form, title in TITLES.items():
                    with gr.Accordion(title, open=form == "convert", elem_id=f"options-{form}"):
                        widgets += [_widget(s) for s in specs if s.form == form]
            with gr.Column(scale=2, min_width=420):
                project = gr.Dropdown(
                    choices=projects,
                    value=ws.latest_project() or "my-swap",
                    allow_custom_value=True,
                    label="Project",
                    info="Folders data/NAME and runs/NAME of the workspace (the CLI's own run folders)",
                    elem_id="project",
                )
                with gr.Tabs():
                    with gr.Tab("1. Data", elem_id="tab-data"):
                        with gr.Row():
                            files_a = gr.File(
                                label="Person A: a video or photos", file_count="multiple", elem_id="files-a"
                            )
                            files_b = gr.File(
                                label="Person B: a video or photos", file_count="multiple", elem_id="files-b"
                            )
                        with gr.Row():
                            path_a = gr.Textbox(label="or a path on this machine (A)", elem_id="path-a")
                            path_b = gr.Textbox(label="or a path on this machine (B)", elem_id="path-b")
                        overwrite = gr.Checkbox(label="Replace earlier data of this project", value=False)
                        prepare_btn = gr.Button("Prepare training data", variant="primary", elem_id="prepare")
                        prepare_status = gr.HTML(elem_id="prepare-status")
                        gr.Markdown("Click wrong faces to select them, then delete them (their eye masks are remade).")
                        with gr.Row():
                            gallery_a = gr.Gallery(
                                label="Faces of A", columns=4, height=300, allow_preview=False, elem_id="gallery-a"
                            )
                            gallery_b = gr.Gallery(
                                label="Faces of B", columns=4, height=300, allow_preview=False, elem_id="gallery-b"
                            )
                        selected = gr.State([])
                        selected_text = gr.Markdown(elem_id="selected")
                        delete_btn = gr.Button("Delete selected faces", elem_id="delete")
                    with gr.Tab("2. Train", elem_id="tab-train"):
                        gr.Markdown(
                            "Training runs in the background: close the page and come back, it goes on. "
                            "Start again to resume a stopped run."
                        )
                        with gr.Row():
                            train_btn = gr.Button("Start / resume training", variant="primary", elem_id="train")
                            stop_btn = gr.Button("Stop (saves first)", variant="stop", elem_id="stop")
                        train_status = gr.HTML(elem_id="train-status")
                        quality = gr.Markdown(elem_id="quality")
                    with gr.Tab("3. Convert", elem_id="tab-convert"):
                        convert_file = gr.File(
                            label="Video or photo to convert", file_count="single", elem_id="convert-file"
                        )
                        convert_path = gr.Textbox(label="or a path on this machine", elem_id="convert-path")
                        source = gr.State("")
                        frame = gr.Slider(0, 1000, value=0, step=1, label="Frame to preview", elem_id="frame")
                        with gr.Row():
                            preview_btn = gr.Button("Preview this frame", elem_id="preview-frame")
                            convert_btn = gr.Button("Convert", variant="primary", elem_id="convert")
                        convert_status = gr.HTML(elem_id="convert-status")
                        result_video = gr.Video(label="Result", interactive=False, elem_id="result-video")
                        result_file = gr.File(label="Download", interactive=False, elem_id="result-file")
            with gr.Column(scale=2, min_width=420):
                preview = gr.Image(label="Preview", interactive=False, height=520, elem_id="preview")
                loss_plot = gr.Image(label="Losses", interactive=False, elem_id="loss-plot")

        def settings(values: tuple) -> dict[str, dict[str, Any]]:
            try:
                return values_to_settings(specs, list(values))
            except ValueError as exc:
                raise UserError(f"invalid setting {exc}") from exc

        @_guard
        def on_project(name: str, shown: dict, only_saved: bool = False):
            """The project's jobs and saved settings; on another project, its defaults where it saved none.
            ``only_saved`` (page load): the widgets already show the defaults, and a slow load must not
            reset what the user typed meanwhile (the browser test lost its `every` to it on a busy machine)."""
            if not name:
                return (*poll(name, {}), *[gr.skip()] * len(specs))
            saved = ws.saved_settings(name)
            values = settings_to_values(specs, saved)
            if only_saved:
                values = [
                    v if spec.name in saved.get(spec.form, {}) else gr.skip()
                    for spec, v in zip(specs, values, strict=True)
                ]
            return (*poll(name, {}), *values)

        def on_load(name: str, shown: dict):
            return on_project(name, shown, only_saved=True)

        @_guard
        def on_prepare(name, files_a, files_b, path_a, path_b, overwrite, *values):
            src = ws.save_input(name, "A", files_a, path_a)
            dst = ws.save_input(name, "B", files_b, path_b)
            ws.start_prepare(name, src, dst, settings(values), overwrite)
            return status_html(ws.status(name, "prepare")), gr.update(choices=ws.projects())

        def on_select(name: str, chosen: list, person: str, index: int):
            face = f"{person}/{ws.faces(name, person)[index].name}"
            chosen = [c for c in chosen if c != face] if face in chosen else [*chosen, face]
            return chosen, "Selected: " + (", ".join(chosen) if chosen else "none")

        @_guard
        def on_select_a(name: str, chosen: list, evt: gr.SelectData):
            return on_select(name, chosen, "A", evt.index)

        @_guard
        def on_select_b(name: str, chosen: list, evt: gr.SelectData):
            return on_select(name, chosen, "B", evt.index)

        @_guard
        def on_delete(name: str, chosen: list):
            for person in ("A", "B"):
                names = [c.split("/", 1)[1] for c in chosen if c.startswith(f"{person}/")]
                ws.delete_faces(name, person, names)
            gr.Info(f"deleted {len(chosen)} faces; remaking the eye masks")
            return [], "Selected: none", _gallery(ws, name, "A"), _gallery(ws, name, "B")

        @_guard
        def on_train(name, *values):
            ws.start_train(name, settings(values))
            return status_html(ws.status(name, "train"))

        @_guard
        def on_stop(name):
            if not ws.stop(name, "train"):
                raise UserError("no training is running in this project")
            return status_html(ws.status(name, "train"))

        @_guard
        def on_source(name, upload, path):
            chosen = ws.save_input(name, "convert", [upload] if upload else None, path or "")
            return str(chosen), gr.update(maximum=max(ws.frame_count(chosen) - 1, 1), value=0)

        @_guard
        def on_preview(name, chosen, index, *values):
            if not chosen:
                raise UserError("choose a video or photo to convert first")
            return ws.preview_frame(name, Path(chosen), int(index), settings(values))

        @_guard
        def on_convert(name, chosen, *values):
            if not chosen:
                raise UserError("choose a video or photo to convert first")
            out = ws.start_convert(name, Path(chosen), settings(values))
            gr.Info(f"converting into {out}")
            return status_html(ws.status(name, "convert"))

        def poll(name: str, shown: dict):
            """Everything that changes while jobs run; unchanged outputs are skipped (no flicker)."""
            try:
                statuses = {kind: ws.status(name, kind) for kind in ("train", "convert")} | {
                    "data": ws.data_status(name)
                }
                view = ws.train_view(name)
            except UserError:
                return (*[""] * 3, "", gr.skip(), gr.skip(), [], [], gr.skip(), gr.skip(), shown)
            shown = dict(shown)
            # The galleries are sent again whenever what is on disk differs from what was sent (a job's end,
            # faces deleted here or elsewhere), not only when a job changes state: a tick that read the
            # folders while a job was still writing them is mended by the next one.
            faces = [_gallery(ws, name, "A"), _gallery(ws, name, "B")]
            on_disk = [hash(tuple(n for _, n in f)) for f in faces]  # compact: the state travels every tick
            data_state = [statuses["data"].kind, statuses["data"].state, name, *on_disk]
            galleries = [gr.skip()] * 2
            if shown.get("data") != data_state:
                shown["data"] = data_state
                galleries = faces
            new_preview = str(view.preview) if view.preview else None
            image = gr.skip() if new_preview == shown.get("preview") else new_preview
            shown["preview"] = new_preview
            plot_stamp = view.loss_plot.stat().st_mtime if view.loss_plot else None
            plot = gr.skip() if plot_stamp == shown.get("plot") else (str(view.loss_plot) if view.loss_plot else None)
            shown["plot"] = plot_stamp
            result = ws.result(name)
            videos = [gr.skip()] * 2
            if str(result) != shown.get("result"):
                shown["result"] = str(result)
                video = str(result) if result and result.suffix == ".mp4" else None
                videos = [video, str(result) if result else None]
            prepare_html = status_html(statuses["data"])
            train_html, convert_html = status_html(statuses["train"]), status_html(statuses["convert"])
            return (prepare_html, train_html, convert_html, view.quality, image, plot, *galleries, *videos, shown)

        polled = [prepare_status, train_status, convert_status, quality, preview, loss_plot, gallery_a, gallery_b]
        polled += [result_video, result_file, shown]
        gr.Timer(1.0).tick(_guard(poll), [project, shown], polled, show_progress="hidden")
        app.load(on_load, [project, shown], polled + widgets)  # on_project is guarded already
        project.change(on_project, [project, shown], polled + widgets)
        prepare_btn.click(
            on_prepare, [project, files_a, files_b, path_a, path_b, overwrite, *widgets], [prepare_status, project]
        )
        gallery_a.select(on_select_a, [project, selected], [selected, selected_text])
        gallery_b.select(on_select_b, [project, selected], [selected, selected_text])
        delete_btn.click(on_delete, [project, selected], [selected, selected_text, gallery_a, gallery_b])
        train_btn.click(on_train, [project, *widgets], [train_status])
        stop_btn.click(on_stop, [project], [train_status])
        convert_file.change(on_source, [project, convert_file, convert_path], [source, frame])
        convert_path.submit(on_source, [project, convert_file, convert_path], [source, frame])
        preview_btn.click(on_preview, [project, source, frame, *widgets], [preview])
        convert_btn.click(on_convert, [project, source, *widgets], [convert_status])
    return app


def serve(workdir: str | os.PathLike, host: str = "127.0.0.1", port: int = 7860, block: bool = True) -> gr.Blocks:
    """Start the page on http://HOST:PORT over the workspace ``workdir``."""
    ws = Workspace(workdir)
    os.environ.setdefault("GRADIO_TEMP_DIR", str(ws.root / ".uploads"))  # uploads stay in the workspace
    app = build_app(ws)
    app.launch(
        server_name=host,
        server_port=port,
        share=False,
        inbrowser=False,
        prevent_thread_lock=not block,
        allowed_paths=[str(ws.root)],
        ssr_mode=False,
        pwa=False,
        mcp_server=False,
        footer_links=[],
        show_error=True,
        quiet=True,
        theme=THEME,
        css=CSS,
    )
    return app
