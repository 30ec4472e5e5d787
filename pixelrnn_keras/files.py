"""Writing a file atomically: under a temporary name beside it, renamed over it once complete."""

import contextlib
import os


def partial_path(path):
    """`path` with ".partial" before its extensions: "runs/x/final.weights.h5" -> "runs/x/final.partial.weights.h5".

    The extensions stay last because some writers need them (Keras's `save_weights` takes only ".weights.h5").
    """
    folder, name = os.path.split(os.fspath(path))
    dot = name.find(".", 1)  # a leading dot names a hidden file, not an extension
    stem, extensions = (name, "") if dot < 0 else (name[:dot], name[dot:])
    return os.path.join(folder, f"{stem}.partial{extensions}")


@contextlib.contextmanager
def atomic_path(path):
    """Yields `partial_path(path)` to write; it replaces `path` if the block succeeds and is removed if it raises.

    Whenever the process dies, `path` is either as it was or complete.
    """
    partial = partial_path(path)
    try:
        yield partial
        os.replace(partial, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(partial)
        raise
