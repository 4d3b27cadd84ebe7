"""How close the shipped GAN generator comes to real chorale bars (lesson 04).

    python -m benchmarks gan

Prints the quality table of 1 000 real bars (drawn with a fixed seed from the chorales) against
1 000 bars from ``musegen_helpers/models/pretrained/gan_generator.keras`` (noise seed 1,
threshold from its JSON), plus a Bernoulli-sampled version of the same generator for contrast,
and the ratios the course aims for: used pitch classes and qualified-note rate within 15 % of
the real bars' (ratio 0.85–1.15) and a unique fraction of at least 0.9.
"""

from __future__ import annotations

import time

import numpy as np

N_SAMPLES = 1000


def run() -> None:
    from musegen_helpers.datasets import load_chorales
    from musegen_helpers.models import gan as G

    started = time.perf_counter()
    bars = G.chorale_bars(load_chorales())
    rng = np.random.default_rng(0)
    real = bars[rng.choice(len(bars), size=min(N_SAMPLES, len(bars)), replace=False)]
    generator, info = G.load_pretrained_generator()
    threshold = info.get("threshold", 0.5)
    t0 = time.perf_counter()
    probs = G.generate_bars(generator, N_SAMPLES, seed=1, threshold=None)
    generate_seconds = time.perf_counter() - t0
    generated = G.binarize(probs, threshold)
    sampled = G.binarize(probs, "sample", seed=1)
    t0 = time.perf_counter()
    table = G.quality_table(real, generated, **{"sampled": sampled})
    table_seconds = time.perf_counter() - t0
    print(f"{len(bars)} real bars; {N_SAMPLES} of each set compared "
          f"(generator trained {info.get('train_seconds', float('nan')) / 60:.1f} min, "
          f"threshold {threshold})")
    print(table)
    real_row, gen_row = table.row("real"), table.row("generated")
    print(f"RESULT gan_upc_ratio={gen_row['used pitch classes'] / real_row['used pitch classes']:.3f}")
    print(f"RESULT gan_qualified_ratio={gen_row['qualified note rate'] / real_row['qualified note rate']:.3f}")
    print(f"RESULT gan_unique_fraction={gen_row['unique fraction']:.3f}")
    print(f"RESULT gan_diversity_ratio={gen_row['diversity'] / real_row['diversity']:.3f}")
    print(f"RESULT gan_empty_bar_rate={gen_row['empty bar rate']:.3f}")
    print(f"RESULT gan_generate_1000_bars_s={generate_seconds:.3f}")
    print(f"RESULT gan_quality_table_3x1000_bars_s={table_seconds:.3f}")
    print(f"RESULT gan_bench_total_s={time.perf_counter() - started:.1f}")


if __name__ == "__main__":
    run()
