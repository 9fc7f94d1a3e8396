"""The one exception type users see: the CLI prints its message on one line and exits non-zero."""

from __future__ import annotations

import errno
import os
import sys

_OS_ERRORS = {
    errno.ENOSPC: "the disk is full; free some space and run again",
    errno.EDQUOT: "the disk quota is used up; free some space and run again",
    errno.EFBIG: "the file is too large for this file system or for this process's file size limit",
    errno.EACCES: "permission denied; check the folder's permissions",
    errno.EPERM: "permission denied; check the folder's permissions",
    errno.EROFS: "the file system is read-only; write somewhere else",
    errno.ENOTDIR: "a part of this path is a file, not a folder",
    errno.EISDIR: "this is a folder, not a file",
    errno.ENOENT: "no such file or folder",
}


class UserError(Exception):
    """Bad input or a failed precondition the user can fix. The message names the file and what to do."""


class StreamBroken(UserError):
    """A video that stopped decoding part-way; the frames before the break were good."""


def os_error_message(exc: OSError, path: str | os.PathLike | None = None) -> str:
    """One line for a failed file operation: the file, and what to do about it."""
    name = path if path is not None else exc.filename  # ours, not the name of a temporary file
    what = _OS_ERRORS.get(exc.errno) or exc.strerror or str(exc) or exc.__class__.__name__
    return f"{name}: {what}" if name is not None else f"cannot read or write a file: {what}"


def warn(message: str) -> None:
    """A warning the user should read, on one line of standard error."""
    print(f"warning: {message}", file=sys.stderr, flush=True)


def short_error(exc: BaseException, limit: int = 200) -> str:
    """An exception's message on one line, cut short: PyTorch's state-dict errors run to 80 lines."""
    text = " ".join(str(exc).split()) or exc.__class__.__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."
