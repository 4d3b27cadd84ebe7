"""Keras 3 models of the course. Importing this package (not ``musegen_helpers``) loads TensorFlow.

Lesson: 03_lstm, 04_gan
"""

import os as _os

_os.environ.setdefault("KERAS_BACKEND", "tensorflow")
# TensorFlow's C++ log lines (CPU feature notices, the CUDA probe on a machine without a GPU) are
# noise to a learner; real errors still raise Python exceptions.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _import_tensorflow_quietly():
    """Import TensorFlow with the process's stderr (file descriptor 2) pointed at /dev/null.

    TensorFlow 2.16+ writes C++ start-up notes (oneDNN, "could not find cuda drivers", cuInit)
    straight to file descriptor 2, ignoring TF_CPP_MIN_LOG_LEVEL; in a notebook they show up as
    alarming red text under the first cell. Python errors still raise as usual.
    """
    import sys
    if "tensorflow" in sys.modules:
        return
    try:
        sys.stderr.flush()
        saved = _os.dup(2)
    except (OSError, ValueError, AttributeError):  # no real stderr: nothing to hide
        import tensorflow  # noqa: F401
        return
    devnull = _os.open(_os.devnull, _os.O_WRONLY)
    try:
        _os.dup2(devnull, 2)
        import tensorflow
        tensorflow.config.list_physical_devices()  # probes for GPUs now, while stderr is quiet
    finally:
        _os.dup2(saved, 2)
        _os.close(saved)
        _os.close(devnull)


_import_tensorflow_quietly()
