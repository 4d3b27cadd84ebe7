"""Keras 3 models of the course. Importing this package (not ``musegen_helpers``) loads TensorFlow.

Lesson: 03_lstm, 04_gan
"""

import os as _os

# TensorFlow's C++ log lines ("remapper failed", CPU feature notices) are noise to a learner;
# real errors still raise Python exceptions.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
_os.environ.setdefault("KERAS_BACKEND", "tensorflow")
