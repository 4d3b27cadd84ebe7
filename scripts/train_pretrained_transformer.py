"""Train the course's pretrained melody Transformer and write it next to the package.

    python scripts/train_pretrained_transformer.py              # the shipped model: about an hour on two CPU cores
    python scripts/train_pretrained_transformer.py --minutes 1 --limit 300 --out /tmp/try.keras  # a quick try

Data: the training split of ``load_melodies()`` (Essen + O'Neill folk tunes, split by tune family),
sixteenth-note event tokens, each tune as ``[START] + tune + [END]``, cut into windows of the model's
context (``--max-length``) exactly as for lesson 03's LSTM (``lstm.make_windows``, no transposition, so
the two models see the same data). Early stopping watches the validation split; the test split is scored
once at the end (all tokens and onsets only: ``scoring.bits_per_token`` of ``TransformerScorer``) and written to the JSON.

Writes ``musegen_helpers/models/pretrained/transformer_melody.keras`` (safe-mode loadable, about 5 MB) and
``transformer_melody.json`` (configuration, per-epoch losses in bits per token, wall-clock and CPU
seconds, held-out scores). The same seed and settings give the same model on the same machine.

Lesson: 06_transformer
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--embed-dim", type=int, default=128)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--ff-dim", type=int, default=512)
    p.add_argument("--max-length", type=int, default=256, help="context = training window, in tokens")
    p.add_argument("--position", default="rotary", choices=("rotary", "learned", "none"))
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--learning-rate", type=float, default=1e-3)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--epochs", type=int, default=17)
    p.add_argument("--patience", type=int, default=4)
    p.add_argument("--minutes", type=float, default=150.0, help="stop after the epoch that passes this budget")
    p.add_argument("--stop-file", type=Path, default=None,
                   help="stop after the epoch during which this file appears (best weights kept)")
    p.add_argument("--threads", type=int, default=2, help="TensorFlow CPU threads")
    p.add_argument("--seed", type=int, default=2024)
    p.add_argument("--limit", type=int, default=None, help="use only this many tunes (a quick try)")
    p.add_argument("--out", type=Path, default=None, help="model path (default: the package's pretrained/)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing model file")
    return p.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    import keras

    from musegen_helpers.config import seed_everything
    from musegen_helpers.datasets import load_melodies
    from musegen_helpers.models import transformer as T
    from musegen_helpers.scoring import bits_per_token, with_end

    out = args.out or T.PRETRAINED_PATH
    if out.exists() and not args.overwrite:
        raise SystemExit(f"{out} exists; pass --overwrite to replace it.")
    seed_everything(args.seed)

    data = load_melodies(limit=args.limit)
    tokens = {split: data.split(split).tokens() for split in ("train", "valid", "test")}
    for split, seqs in tokens.items():
        print(f"{split}: {len(seqs)} tunes, {sum(len(s) for s in seqs)} tokens", flush=True)

    window = args.max_length
    train_ds = T.make_windows(tokens["train"], window=window, batch_size=args.batch_size, seed=args.seed)
    valid_ds = T.make_windows(tokens["valid"], window=window, batch_size=args.batch_size, shuffle=False)
    model = T.build_transformer(max_length=args.max_length, embed_dim=args.embed_dim, num_heads=args.heads,
                                layers=args.layers, ff_dim=args.ff_dim, dropout=args.dropout,
                                position=args.position, learning_rate=args.learning_rate, seed=args.seed)
    model.summary()

    started, cpu_started = time.time(), time.process_time()
    budget_s = args.minutes * 60.0

    class Budget(keras.callbacks.Callback):
        """Print each epoch; stop after the epoch that runs past the time budget (best weights kept)."""

        def on_epoch_end(self, epoch, logs=None):
            elapsed = time.time() - started
            print(f"  epoch {epoch + 1}: {elapsed / 60:.1f} min, train {logs['loss'] / math.log(2):.4f}, "
                  f"valid {logs['val_loss'] / math.log(2):.4f} bits/token, "
                  f"lr {float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)):.2g}", flush=True)
            if elapsed > budget_s or (args.stop_file is not None and args.stop_file.exists()):
                self.model.stop_training = True

    callbacks = [keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1, min_lr=1e-5),
                 Budget()]
    history = T.train(model, train_ds, valid_ds, epochs=args.epochs, callbacks=callbacks, patience=args.patience,
                      live_plot=False, verbose=2)
    train_seconds, cpu_seconds = time.time() - started, time.process_time() - cpu_started

    to_bits = lambda xs: [round(float(x) / math.log(2), 5) for x in xs]  # noqa: E731
    losses = history.history
    T.save_model(model, out, overwrite=args.overwrite)
    scorer = T.TransformerScorer(model)
    info = {
        "model": "melody Transformer (musegen_helpers.models.transformer.build_transformer)",
        "config": {"vocab_size": 131, "max_length": args.max_length, "embed_dim": args.embed_dim,
                   "num_heads": args.heads, "layers": args.layers, "ff_dim": args.ff_dim,
                   "position": args.position, "dropout": args.dropout, "learning_rate": args.learning_rate,
                   "clipnorm": 1.0, "window": window, "batch_size": args.batch_size, "transpose_augmentation": 0,
                   "seed": args.seed, "steps_per_quarter": 4,
                   "start_token": "END (each tune is fed as [END] + tune + [END])"},
        "parameters": T.count_parameters(model),
        "data": {"source": "musegen_helpers.datasets.load_melodies()", "limit": args.limit,
                 **{f"{s}_tunes": len(v) for s, v in tokens.items()},
                 **{f"{s}_tokens": int(sum(len(t) + 1 for t in v)) for s, v in tokens.items()}},
        "epochs": len(losses["loss"]),
        "best_epoch": int(np.argmin(losses["val_loss"])) + 1,
        "history": {"train_bits_per_token": to_bits(losses["loss"]),
                    "valid_bits_per_token": to_bits(losses["val_loss"])},
        "valid_bits_per_token": round(bits_per_token(scorer, with_end(tokens["valid"])), 5),
        "test_bits_per_token": round(bits_per_token(scorer, with_end(tokens["test"])), 5),
        "test_onset_bits_per_token": round(bits_per_token(scorer, with_end(tokens["test"]), onsets_only=True), 5),
        "train_seconds": round(train_seconds, 1),
        "train_cpu_seconds": round(cpu_seconds, 1),
        "machine": f"{platform.machine()}, {args.threads} TensorFlow threads",
        "versions": {"keras": keras.__version__, "tensorflow": tf.__version__, "numpy": np.__version__},
        "command": "python scripts/train_pretrained_transformer.py " + " ".join(sys.argv[1:] if argv is None else argv),
    }
    out.with_suffix(".json").write_text(json.dumps(info, indent=2) + "\n")
    print(json.dumps({k: info[k] for k in ("parameters", "epochs", "best_epoch", "valid_bits_per_token",
                                           "test_bits_per_token", "test_onset_bits_per_token", "train_seconds",
                                           "train_cpu_seconds")}, indent=2))
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB)")
    return info


if __name__ == "__main__":
    main()
