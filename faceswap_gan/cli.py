"""The ``faceswap-gan`` command: one sub-command per stage, no logic of its own.

Every error a user can fix is printed on one line (``error: ...``) with exit status 1; an
interrupt exits with 130. Nothing here prints a traceback for bad input.
"""

from __future__ import annotations

import dataclasses
import functools
import signal
import sys
from enum import Enum
from pathlib import Path

import click

from faceswap_gan import __version__
from faceswap_gan.config import choices, describe, load_config
from faceswap_gan.errors import UserError, os_error_message
from faceswap_gan.io.atomic import discard_live_temporaries


def heavy(fn):
    """A command that computes: PyTorch gets only the cores other processes leave free right now
    (``runtime.adapt_threads`` says why)."""

    @functools.wraps(fn)
    def command(*args, **kwargs):
        from faceswap_gan.runtime import adapt_threads

        adapt_threads()
        return fn(*args, **kwargs)

    return command


def option_for(cls: type, name: str, *flags: str, **kwargs):
    """A click option for field ``name`` of config class ``cls``, its help and ``[default: ...]`` read from
    the field. No click default: None means "not given", so that a --config file or the field decides."""
    flags = flags or (f"--{name.replace('_', '-')}",)
    if "/" in flags[0]:
        kwargs.setdefault("default", None)  # an on/off flag not given is None, not off
    default = next(f.default for f in dataclasses.fields(cls) if f.name == name)
    allowed = choices(cls, name) or (tuple(m.value for m in type(default)) if isinstance(default, Enum) else None)
    if allowed is not None:
        kwargs.setdefault("type", click.Choice([str(a) for a in allowed]))
    return click.option(*flags, name, help=describe(cls, name), **kwargs)


def options(fn, decorators: list):
    """``fn`` with the option ``decorators`` applied, the first one outermost (as if stacked above it)."""
    for decorator in reversed(decorators):
        fn = decorator(fn)
    return fn


def load_settings(cls: type, config_file: Path | None, fields: dict, defaults: dict | None = None):
    """``cls`` from ``defaults`` < a YAML file (if given) < the options given here (None: not given)."""
    fields = {k: v for k, v in fields.items() if v is not None}
    if config_file is not None:
        return load_config(cls, config_file, defaults, **fields)
    try:
        return cls(**(defaults or {}) | fields)
    except ValueError as exc:
        raise UserError(f"invalid option {exc}") from exc


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(__version__, prog_name="faceswap-gan")
def cli() -> None:
    """Swap the faces of two people in videos: extract -> train -> convert.

    \b
    Quick start with the built-in sample clips:
      faceswap-gan sample astronaut sample/astronaut.mp4
      faceswap-gan extract sample/astronaut.mp4 --out work/astronaut
    """


def _terminate(signum, frame) -> None:
    raise KeyboardInterrupt  # SIGTERM (kill, a closed session) ends the work like Ctrl-C: partial files go


def main() -> None:
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        _run()
    finally:
        signal.signal(signal.SIGTERM, previous)
        # An interrupt or error can land between a temporary file's creation and the block that would remove it.
        discard_live_temporaries()


def _run() -> None:
    try:
        cli.main(standalone_mode=False)
    except UserError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except OSError as exc:  # a file we could not write or read that no stage foresaw: still one line
        click.echo(f"error: {os_error_message(exc)}", err=True)
        sys.exit(1)
    except (click.exceptions.Abort, KeyboardInterrupt):
        command = next((arg for arg in sys.argv[1:] if not arg.startswith("-")), "")
        hint = "; run the same command to resume training" if command == "train" else ""
        click.echo(f"interrupted: finished work was kept, partial files discarded{hint}", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)


# The commands, by concern; importing them registers them on the group above.
from faceswap_gan.commands import data, model, tools, training  # noqa: E402, F401

if __name__ == "__main__":  # torchrun -m faceswap_gan.cli train ...
    # Run the imported module's main: the commands registered on that module's group, not on this copy's.
    from faceswap_gan.cli import main as registered_main

    registered_main()
