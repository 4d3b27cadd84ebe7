"""Benchmarks: each ``bench_<name>.py`` has ``run()`` printing ``RESULT <key>=<number>`` lines.

Speed and memory targets live here, measured side by side in one run — never as timed
assertions in the tests.
"""
