"""Speed of the rule-based composer: widgets regenerate a piece on every slider move.

Lesson: 02_rule_based
"""

from __future__ import annotations

import time

import numpy as np


def _median_ms(fn, repeats: int) -> float:
    fn(0)  # warm caches
    times = []
    for seed in range(repeats):
        t = time.perf_counter()
        fn(seed)
        times.append(time.perf_counter() - t)
    return float(np.median(times) * 1000.0)


def run() -> None:
    from musegen_helpers.rules import compose
    from musegen_helpers.theory import check_voice_leading

    melody = _median_ms(lambda s: compose(seed=s, bars=16), 100)
    harmonised = _median_ms(lambda s: compose(seed=s, bars=16, harmonize=True), 50)
    chorale = _median_ms(lambda s: compose(seed=s, bars=16, harmonize="chorale"), 50)
    piece = compose(seed=0, bars=16, harmonize=True)
    checks = _median_ms(lambda s: check_voice_leading(piece), 50)
    print(f"RESULT compose_16_bars_ms={melody:.2f}")
    print(f"RESULT compose_16_bars_harmonized_ms={harmonised:.2f}")
    print(f"RESULT compose_16_bars_chorale_ms={chorale:.2f}")
    print(f"RESULT check_voice_leading_16_bars_satb_ms={checks:.2f}")
    print(f"RESULT compose_budget_ratio={melody / 50.0:.3f}")  # fraction of the 50 ms widget budget


if __name__ == "__main__":
    run()
