"""Compiled C kernels, cached per machine and loaded only when they are provably ours.

A shared library runs its code the moment it is loaded, so a cache entry is trusted only when
- the cache folder (``$XDG_CACHE_HOME/faceswap-gan/kernels``, else ``~/.cache/...``) and the folder above
  it belong to this user and nobody else can write to them; otherwise this process compiles into a
  private temporary folder of its own, with a warning;
- the library file belongs to this user, nobody else can write to it, and its SHA-256 equals the one
  recorded beside it (``NAME.so.sha256``) when it was built; otherwise it is compiled again, with a
  warning (a damaged or replaced entry is rebuilt, never silently swapped for a slower path).
The cache key covers the source, the flags, the CPU and the compiler's identity (its ``--version``),
not only its path: a compiler upgraded in place gets new entries.
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import os
import platform
import shutil
import stat
import subprocess
import tempfile
import warnings
from pathlib import Path


def cache_dir() -> Path:
    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(root) / "faceswap-gan" / "kernels"


def _cpu_signature() -> str:
    """-march=native code must not run on another CPU that shares the cache (an NFS home, say)."""
    try:
        flags = next(line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags"))
    except (OSError, StopIteration):
        flags = platform.processor()
    return platform.machine() + flags


@functools.cache
def compiler_identity(compiler: str) -> str:
    """The compiler's real path and what ``--version`` says."""
    try:
        version = subprocess.run([compiler, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        version = ""
    return f"{os.path.realpath(compiler)}\n{version}"


def cache_key(source: Path, compiler: str, flags: list[str]) -> str:
    parts = [source.read_text(), compiler_identity(compiler), *flags, _cpu_signature()]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _private(path: Path) -> bool:
    """Owned by this user, not a link, and writable by nobody else."""
    try:
        info = path.lstat()
    except OSError:
        return False
    return not stat.S_ISLNK(info.st_mode) and info.st_uid == os.getuid() and not info.st_mode & 0o022


@functools.cache
def _process_dir() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="faceswap-gan-kernels-"))  # 0700, ours
    atexit.register(shutil.rmtree, folder, True)
    return folder


def _usable_cache() -> Path:
    """The shared cache folder if it is private to this user, else this process's own folder."""
    folder = cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise RuntimeError(f"cannot create the kernel cache {folder} ({exc.strerror})") from exc
    if _private(folder) and _private(folder.parent):
        return folder
    warnings.warn(
        f"{folder}: the kernel cache is not private to this user (another user could plant a library there); "
        "compiling into a private temporary folder instead. Make it yours with chmod go-w.",
        stacklevel=4,
    )
    return _process_dir()


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _valid(target: Path) -> bool:
    record = target.with_name(target.name + ".sha256")
    if not (_private(target) and _private(record)):
        return False
    try:
        return record.read_text().strip() == _digest(target)
    except OSError:
        return False


def compiled(compiler: str, source: Path, name: str, flags: list[str]) -> Path:
    """The shared library of ``source`` built with ``flags`` by ``compiler``: a valid cache entry, or a
    fresh build put into the cache. Raises RuntimeError when the compiler fails, OSError when the cache
    cannot be written."""
    key = cache_key(source, compiler, flags)
    folder = _usable_cache()
    target = folder / f"{name}-{key[:16]}.so"
    if _valid(target):
        return target
    if target.exists() or target.is_symlink():
        warnings.warn(f"{target}: not the library this cache built (damaged or replaced); compiling it again",
                      stacklevel=3)  # fmt: skip
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        built = Path(tmp) / target.name
        result = subprocess.run([compiler, *flags, str(source), "-o", str(built), "-lm"], capture_output=True)
        if result.returncode != 0:
            raise RuntimeError(result.stderr.decode(errors="replace")[:500] or f"{compiler} exited {result.returncode}")
        record = Path(tmp) / (target.name + ".sha256")
        record.write_text(_digest(built))
        # Renames are atomic: concurrent processes (DDP ranks) never load half a file. The record goes
        # first; a library without its record is rebuilt, never trusted.
        record.replace(target.with_name(record.name))
        built.replace(target)
    return target
