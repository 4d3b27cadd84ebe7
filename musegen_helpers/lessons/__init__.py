"""Per-lesson exercises: ``from musegen_helpers.lessons.lesson01 import q1, q2``.

Each module builds :class:`musegen_helpers.exercises.Exercise` objects for one lesson.
"""
