"""Keras 3 models of the course. Importing this package (not ``musegen_helpers``) loads TensorFlow.

Lesson: 03_lstm, 04_gan
"""
