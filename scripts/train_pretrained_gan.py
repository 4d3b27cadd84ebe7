"""Train the GAN generator that ships with the course (lesson 04 plays it before any training).

    .venv/bin/python scripts/train_pretrained_gan.py            # writes musegen_helpers/models/pretrained/
    .venv/bin/python scripts/train_pretrained_gan.py --out /tmp/g.keras --epochs 5   # a quick try

Reads the Bach chorales from ``datasets/`` (``python -m musegen_helpers.datasets build`` makes
them), cuts them into one-bar rolls with ``chorale_bars``, trains with a fixed seed, then measures
1 000 generated bars against the real ones and writes ``gan_generator.keras`` and
``gan_generator.json`` (settings, data, training time, quality numbers), and the same run
after one epoch as ``gan_generator_early.keras``. Refuses to replace an
existing model unless ``--overwrite``.

On 2 CPU cores the default run takes about 10 minutes.

Lesson: 04_gan
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from musegen_helpers.datasets import load_chorales  # noqa: E402
from musegen_helpers.models import gan as G  # noqa: E402
from musegen_helpers.models.saving import check_can_write_model, save_model  # noqa: E402

RECIPE = "label_smoothing"
EPOCHS = 60
EARLY_EPOCHS = 1     # the soft, unsure checkpoint for lesson 04's threshold exercise
BATCH_SIZE = 64
FILTERS = 32
LATENT_DIM = 64
SEED = 2024
N_SAMPLES = 1000


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=G.PRETRAINED_GENERATOR, help="where to write the .keras file")
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--recipe", default=RECIPE, choices=sorted(G.RECIPES))
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--data-dir", default=None, help="folder with the built datasets (default: datasets/)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing model file")
    args = parser.parse_args(argv)

    early_out = args.out.with_name(args.out.stem + "_early.keras")
    check_can_write_model(args.out, args.overwrite)
    check_can_write_model(early_out, args.overwrite)
    chorales = load_chorales(data_dir=args.data_dir)
    bars = G.chorale_bars(chorales)
    print(f"{len(chorales)} chorales -> {len(bars)} bars of shape {bars.shape[1:]}", flush=True)

    gan = G.make_gan(recipe=args.recipe, latent_dim=LATENT_DIM, filters=FILTERS, seed=args.seed)
    started = time.perf_counter()
    log = G.train_gan(gan, bars, epochs=EARLY_EPOCHS, batch_size=BATCH_SIZE, every=1, show=True, seed=args.seed)
    early_info = {"lesson": "04_gan", "made_by": "scripts/train_pretrained_gan.py",
                  "what": f"the run of {args.out.name} after {EARLY_EPOCHS} epoch(s): an unsure generator",
                  "lowest_pitch": G.LOWEST_PITCH, "epochs": EARLY_EPOCHS, "settings": gan.settings,
                  "quality": G.quality(G.generate_bars(gan.generator, N_SAMPLES, seed=1))}
    save_model(gan.generator, early_out, overwrite=args.overwrite, info=early_info)
    log = G.train_gan(gan, bars, epochs=args.epochs - EARLY_EPOCHS, batch_size=BATCH_SIZE, every=10, show=True,
                      seed=args.seed, log=log)
    seconds = time.perf_counter() - started

    generated = G.generate_bars(gan.generator, N_SAMPLES, seed=1)
    rng = np.random.default_rng(0)
    real = bars[rng.choice(len(bars), size=min(N_SAMPLES, len(bars)), replace=False)]
    table = G.quality_table(real, generated)
    print(table)
    info = {
        "lesson": "04_gan",
        "made_by": "scripts/train_pretrained_gan.py",
        "lowest_pitch": G.LOWEST_PITCH, "n_pitches": G.N_PITCHES, "steps_per_bar": G.STEPS_PER_BAR,
        "latent_dim": LATENT_DIM, "threshold": 0.5,
        "settings": gan.settings, "epochs": args.epochs, "batch_size": BATCH_SIZE,
        "data": {"chorales": len(chorales), "bars": int(len(bars)),
                 "what": "Bach chorales in 4/4, moved to C major / A minor, one bar each, C2-B5"},
        "train_seconds": round(seconds, 1),
        "machine": f"{platform.machine()}, {platform.python_implementation()} {platform.python_version()}",
        "quality_samples": N_SAMPLES,
        "quality": {metric: {row["bars"]: round(row[metric], 4) for row in table.rows}
                    for metric in table.columns[1:]},
        "history": {k: [round(x, 4) for x in v] for k, v in log.history.items()},
    }
    path = save_model(gan.generator, args.out, overwrite=args.overwrite, info=info)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB) after {seconds / 60:.1f} min of training")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
