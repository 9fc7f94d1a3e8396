"""``python -m faceswap_gan.ui.runner JOB_FOLDER ARGS...``: run ``faceswap-gan ARGS`` and write its exit
status to ``JOB_FOLDER/exit.json``, so that a page that reattaches later knows how the job ended."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from faceswap_gan.cli import main
from faceswap_gan.io.atomic import atomic_write


def run(folder: Path, args: list[str]) -> int:
    sys.argv = ["faceswap-gan", *args]
    code: int
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except KeyboardInterrupt:  # SIGTERM from the page's Stop button, after the command saved its work
        code = 130
    except BaseException:  # a bug: the traceback goes to the log, the page reads the status
        import traceback

        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    with atomic_write(folder / "exit.json") as tmp:
        tmp.write_text(json.dumps({"code": code}))
    return code


if __name__ == "__main__":
    sys.exit(run(Path(sys.argv[1]), sys.argv[2:]))
