"""Writing an export directory atomically: built under a temporary name, renamed when complete."""

import contextlib
import os
import shutil
import tempfile


def check_destination(path, overwrite):
    """Raise ValueError unless `path` may be written: new, an empty directory (as `mktemp -d` makes), or
    an existing directory and `overwrite`."""
    path = os.fspath(path)
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise ValueError(f"path: the folder {parent!r} does not exist")
    if os.path.lexists(path):
        if not os.path.isdir(path) or os.path.islink(path):
            raise ValueError(f"path {path!r} exists and is not a directory")
        if os.listdir(path) and not overwrite:
            raise ValueError(f"path {path!r} already exists; pass overwrite=True (--overwrite) to replace it")


@contextlib.contextmanager
def atomic_directory(path, overwrite=False):
    """Yields an empty temporary directory next to `path`; renamed to `path` if the block succeeds.

    If the block raises, the temporary directory is removed and `path` is left as it was. An
    existing `path` (empty, or any with `overwrite`) is replaced by two renames and then deleted.
    """
    check_destination(path, overwrite)
    path = os.path.abspath(os.fspath(path))
    parent, name = os.path.split(path)
    building = tempfile.mkdtemp(prefix=f".{name}.partial-", dir=parent)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(building, 0o777 & ~umask)  # mkdtemp's 0700 would stay on the result
    try:
        yield building
        if os.path.exists(path):
            old = tempfile.mkdtemp(prefix=f".{name}.old-", dir=parent)
            os.replace(path, old)  # onto the empty directory just made
            os.replace(building, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(building, path)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
