"""Files and folders that appear only when complete.

A file is written under a new, unique temporary name beside its target, created exclusively (so a name
planted in a shared folder, a link say, is never written through), and renamed onto the target on
success; on failure the temporary file is removed and the target is as it was. Folders are built in a
staging folder and exchanged with the old one in one step where the system can (Linux's renameat2),
and several parts of one result are published together or not at all (``publish_all``).

Temporary names carry the writer's process id (``.NAME.PID.XXXXXXXX.partial.EXT``), so that a later run
removes the ones of a process that was killed (``remove_stale_partials``). Every temporary file and staging
folder is also recorded while it exists, because an interrupt (Ctrl-C, SIGTERM) can land between its creation
and the block that would remove it: the command line removes what is left when it ends
(``discard_live_temporaries``).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from faceswap_gan.errors import UserError, os_error_message

# This process's temporary files and staging folders that exist now, recorded before they are created.
_LIVE: set[Path] = set()


def temporary_path(path: str | os.PathLike) -> Path:
    """A new empty file beside ``path``, with a unique name, created exclusively (never through a link),
    with the permissions a plain new file would get."""
    path = Path(path)
    remove_stale_partials(path)
    while True:
        name = path.with_name(f".{path.stem}.{os.getpid()}.{secrets.token_hex(4)}.partial{path.suffix}")
        _LIVE.add(name)  # before it exists: an interrupt after the open still finds it
        try:
            os.close(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666))
            return name
        except FileExistsError:  # not ours: leave it, draw another name
            _LIVE.discard(name)
        except BaseException:  # an interrupt may come after the open: the file may exist
            discard(name)
            raise


def discard_live_temporaries() -> list[Path]:
    """Remove every temporary file and staging folder of this process that still exists; for the end of
    a command, as an interrupt may have come between a temporary's creation and the block that removes
    it. Returns what was removed."""
    removed = []
    for path in list(_LIVE):
        if path.exists() or path.is_symlink():
            removed.append(path)
        _remove(path)
    return removed


def process_running(pid: int) -> bool:
    """Whether a process with id ``pid`` exists (someone else's included)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def remove_stale_partials(path: str | os.PathLike) -> list[Path]:
    """Remove the temporary files for ``path`` that a process no longer running left (``kill -9``, a
    power cut): ours only (our naming, our user, a regular file). Returns what was removed."""
    path = Path(path)
    pattern = re.compile(rf"\.{re.escape(path.stem)}\.(\d+)\.[^/]+\.partial{re.escape(path.suffix)}")
    removed = []
    try:
        candidates = list(path.parent.iterdir())
    except OSError:
        return removed
    for candidate in candidates:
        match = pattern.fullmatch(candidate.name)
        if not match or process_running(int(match.group(1))):
            continue
        with contextlib.suppress(OSError):
            info = candidate.lstat()
            if info.st_uid == os.getuid() and candidate.is_file() and not candidate.is_symlink():
                candidate.unlink()
                removed.append(candidate)
    return removed


def discard(path: Path) -> None:
    """Remove a temporary file; a failure here (the folder is gone, say) must not hide the error that
    made us discard it."""
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)
    _LIVE.discard(path)


@contextmanager
def atomic_write(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path to write; it becomes ``path`` when the block ends without error."""
    tmp = temporary_path(path)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        discard(tmp)  # gone after the rename; still there after any failure


def _exchange(a: Path, b: Path) -> bool:
    """Swap two existing paths in one step (Linux's renameat2 with RENAME_EXCHANGE); False where the
    system or the file system cannot, so that the caller falls back to two renames."""
    renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if renameat2 is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _put(staged: Path, final: Path) -> None:
    """Move ``staged`` to ``final``; an old ``final`` ends up at ``staged`` (to be removed or put back)."""
    if not final.exists():
        os.rename(staged, final)
    elif not _exchange(staged, final):
        # Two renames: for a moment ``final`` is missing, never half-written.
        aside = staged.with_name(staged.name + ".old")
        os.rename(final, aside)
        os.rename(staged, final)
        os.rename(aside, staged)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
        _LIVE.discard(path)
    else:
        discard(path)


def publish_all(parts: list[tuple[Path, Path]]) -> None:
    """Move every finished ``(staged, final)`` file or folder into place, all or none: if one move fails,
    those already made are undone and the old results stay. Old results are removed at the end."""
    done: list[tuple[Path, Path, bool]] = []
    try:
        for staged, final in parts:
            final.parent.mkdir(parents=True, exist_ok=True)
            existed = final.exists()
            _put(staged, final)
            done.append((staged, final, existed))
    except BaseException:
        for staged, final, existed in reversed(done):
            with contextlib.suppress(OSError):
                _put(final, staged) if existed else os.rename(final, staged)
        raise
    for staged, _, existed in done:
        if existed:
            _remove(staged)  # now the old result


def publish_folder(staging: Path, final: Path) -> None:
    """Move a finished staging folder to ``final``, replacing what was there in one step where possible."""
    publish_all([(staging, final)])


def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)  # also through links and hard links
    except OSError:
        pass
    return a.resolve() == b.resolve()


def is_within(path: str | os.PathLike, folder: str | os.PathLike) -> bool:
    """Whether ``path`` is ``folder`` or inside it, links resolved."""
    path, folder = Path(path).resolve(), Path(folder).resolve()
    return path == folder or folder in path.parents


def check_output(path: str | os.PathLike, inputs: tuple = (), overwrite: bool = False) -> None:
    """Refuse, before any work, an output that would harm what exists: one of ``inputs`` (by any path or
    link), an existing file without ``overwrite``, a folder, or a place that cannot hold a file. Creates
    the missing folders on the way."""
    path = Path(path)
    for source in inputs:
        if source is not None and _same_file(Path(source), path):
            raise UserError(f"{path}: this is the input {source}; write the result to another file")
    if path.is_dir():
        raise UserError(f"{path}: is a folder; give the output a file name")
    if (path.exists() or path.is_symlink()) and not overwrite:
        raise UserError(f"{path}: already exists; use --overwrite to replace it")
    parent = path.parent
    for folder in (parent, *parent.parents):
        if folder.exists():
            if not folder.is_dir():
                raise UserError(f"{path}: {folder} is a file, not a folder")
            break
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(os_error_message(exc, parent)) from exc
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UserError(f"{parent}: cannot write in this folder (permission denied)")


@contextlib.contextmanager
def staging_folder(out_dir: Path, name: str) -> Iterator[Path]:
    """A fresh hidden staging folder in ``out_dir`` (one a killed run left is cleared first), removed
    afterwards whatever happens: after publishing it holds only the replaced old results."""
    root = out_dir / f".{name}.partial"
    shutil.rmtree(root, ignore_errors=True)
    _LIVE.add(root)
    try:
        root.mkdir(parents=True)
        yield root
    finally:
        _remove(root)
