"""TensorFlow's start-up without the lines of its C++ logging that TF_CPP_MIN_LOG_LEVEL should hold back.

While it loads, TensorFlow's C++ side writes INFO lines to stderr (oneDNN, CUDA drivers, CPU
instructions) before its logging is set up, so that its own TF_CPP_MIN_LOG_LEVEL does not hold them
back (tensorflow/tensorflow#100442). Here stderr is read while TensorFlow loads and while it first
looks for devices, and passed on without the records below that level: INFO and WARNING at the
level the package sets unless the user has set one (2), none at 0. A user who has loaded TensorFlow
before this package sees its lines as it prints them.
"""

import contextlib
import io
import os
import re
import sys
import tempfile

DEFAULT_LEVEL = "2"  # TF_CPP_MIN_LOG_LEVEL: 0 everything, 1 no INFO, 2 no WARNING either, 3 no ERROR either
SEVERITIES = "IWEF"
# A record of absl's logging ("I0000 00:00:1796236168.223922    5000 port.cc:153] ...") or of TensorFlow's own
# ("2025-09-17 14:44:05.157831: I external/local_xla/.../cudart_stub.cc:32] ..."); other lines continue it.
_RECORD = re.compile(rb"(?:([IWEF])\d{4} \d\d:\d\d:\d+\.\d+ +\d+ |\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: ([IWEF]) )")
# absl's notice that the records above go to stderr: it goes with them.
_ABSL_NOTICE = b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
# On a machine without CUDA drivers, where TensorFlow has said it will not use a GPU, its ERROR that the CUDA
# driver failed to start is no news; with drivers it is, and it is kept.
_NO_DRIVERS, _NO_DRIVER_ERROR = b"Could not find cuda drivers", b"failed call to cuInit"
_saw_no_drivers = False


def min_log_level():
    """TF_CPP_MIN_LOG_LEVEL, after setting it to DEFAULT_LEVEL where the user has not set it."""
    text = os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", DEFAULT_LEVEL)
    return int(text) if text.strip() in ("0", "1", "2", "3") else 0


def kept(data, level):
    """The bytes of `data` (what TensorFlow wrote to stderr) without its records below `level`."""
    global _saw_no_drivers
    _saw_no_drivers = _saw_no_drivers or _NO_DRIVERS in data
    out, keep = [], True
    for line in data.splitlines(keepends=True):
        record = _RECORD.match(line)
        if record:
            severity = SEVERITIES.index((record.group(1) or record.group(2)).decode())
            keep = severity >= level and not (_saw_no_drivers and _NO_DRIVER_ERROR in line)
        elif line.startswith(_ABSL_NOTICE):
            continue
        if keep:
            out.append(line)
    return b"".join(out)


@contextlib.contextmanager
def filtered_stderr():
    """Within the block, what is written to file descriptor 2 is held, and passed on through `kept` after it.

    Python's own writes to `sys.stderr` (warnings, say) are held apart and passed on whole, after the rest.
    """
    level = min_log_level()
    if level == 0:
        yield
        return
    sys.stderr.flush()
    saved, python_lines = os.dup(2), io.StringIO()
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            with contextlib.redirect_stderr(python_lines):
                yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            data = kept(held.read(), level)
            while data:
                data = data[os.write(2, data) :]
            sys.stderr.write(python_lines.getvalue())


def import_tensorflow():
    """Load TensorFlow, unless it is loaded already, with its start-up lines below the level held back."""
    if "tensorflow" in sys.modules:
        return
    with filtered_stderr():
        import tensorflow  # noqa: F401


def find_devices():
    """TensorFlow's first look for devices (the CUDA driver starts here), with the same lines held back."""
    import tensorflow as tf

    with filtered_stderr():
        tf.config.list_physical_devices()
