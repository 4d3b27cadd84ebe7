"""Import time of ``musegen_helpers`` (and its lesson-00 modules) in a fresh interpreter,
side by side with importing numpy alone; also checks that TensorFlow is not imported."""

from __future__ import annotations

import subprocess
import sys


def _time(code: str) -> float:
    out = subprocess.run([sys.executable, "-c", "import time; t=time.perf_counter(); " + code +
                          "; import sys; print(time.perf_counter()-t, 'tensorflow' in sys.modules)"],
                         capture_output=True, text=True, check=True).stdout.split()
    return float(out[0]), out[1] == "True"


def run() -> None:
    base, _ = min(_time("import numpy") for _ in range(3))
    full = min(_time("import musegen_helpers, musegen_helpers.audio, musegen_helpers.score, "
                     "musegen_helpers.plots, musegen_helpers.midi_io, musegen_helpers.representation")
               for _ in range(3))
    print(f"import numpy alone: {base:.3f} s")
    print(f"import musegen_helpers (+audio, score, plots, midi_io, representation): {full[0]:.3f} s; "
          f"TensorFlow imported: {full[1]}")
    print(f"RESULT import_s={full[0]:.3f}")
    print(f"RESULT import_vs_numpy={full[0] / base:.1f}")
    print(f"RESULT imports_tensorflow={int(full[1])}")
