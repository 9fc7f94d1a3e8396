"""The compiled-kernel cache loads nothing it cannot vouch for (a library runs code when it is loaded)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from faceswap_gan.nets import attention, kernel_cache

REPO = Path(__file__).resolve().parents[2]
COMPILER = shutil.which(os.environ.get("CC", "cc"))
pytestmark = pytest.mark.skipif(COMPILER is None, reason="no C compiler here")

PLANTED = r"""
#include <stdio.h>
#include <stdlib.h>
__attribute__((constructor)) static void planted(void) {
    FILE *f = fopen(getenv("MARKER"), "w");
    if (f) { fputs("planted code ran", f); fclose(f); }
}
"""


def _kernel_in_a_fresh_process(cache: Path, marker: Path) -> subprocess.CompletedProcess:
    code = "from faceswap_gan.nets.attention import kernel_available; print(kernel_available())"
    env = os.environ | {"XDG_CACHE_HOME": str(cache), "MARKER": str(marker), "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-W", "always", "-c", code], env=env, capture_output=True, text=True)


@pytest.fixture
def built(tmp_path, monkeypatch) -> Path:
    """A cache with the real kernel built in it; returns the library's path."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return attention._build(COMPILER, 4, 32, attention.OPENMP_FLAGS)


def test_a_library_planted_in_a_cache_others_can_write_is_never_loaded(tmp_path, built):
    planted = tmp_path / "planted.c"
    planted.write_text(PLANTED)
    subprocess.run([COMPILER, "-shared", "-fPIC", str(planted), "-o", str(built)], check=True)
    # The planter can write the recorded hash too: the folder is writable by others.
    built.with_name(built.name + ".sha256").write_text(kernel_cache._digest(built))
    os.chmod(built.parent, 0o777)
    marker = tmp_path / "marker"
    result = _kernel_in_a_fresh_process(tmp_path / "cache", marker)
    assert not marker.exists(), "the planted library ran"
    assert result.stdout.strip() == "True", result.stderr  # the kernel still runs, built privately
    assert "not private to this user" in result.stderr


def test_a_damaged_cache_entry_is_rebuilt_with_a_warning_not_swapped_for_a_slower_path(tmp_path, built):
    built.write_bytes(b"garbage, not a shared library")
    result = _kernel_in_a_fresh_process(tmp_path / "cache", tmp_path / "marker")
    assert result.stdout.strip() == "True", result.stderr
    assert "(damaged or replaced); compiling it again" in result.stderr
    assert built.with_name(built.name + ".sha256").read_text() == kernel_cache._digest(built)


def test_a_valid_entry_is_loaded_without_a_word(tmp_path, built):
    result = _kernel_in_a_fresh_process(tmp_path / "cache", tmp_path / "marker")
    assert result.stdout.strip() == "True" and "Warning" not in result.stderr, result.stderr


def test_the_key_holds_the_compilers_version_not_only_its_path(tmp_path):
    fake = tmp_path / "cc"
    keys = []
    for version in ("1.0", "2.0"):
        fake.write_text(f'#!/bin/sh\n[ "$1" = --version ] && echo "fake cc {version}" && exit 0\nexec cc "$@"\n')
        fake.chmod(0o755)
        kernel_cache.compiler_identity.cache_clear()
        keys.append(kernel_cache.cache_key(attention.SOURCE, str(fake), ["-O3"]))
    kernel_cache.compiler_identity.cache_clear()
    assert keys[0] != keys[1]
