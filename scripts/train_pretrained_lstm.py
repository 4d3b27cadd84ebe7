"""Train the course's pretrained melody LSTM and write it next to the package.

    python scripts/train_pretrained_lstm.py            # about 30 minutes on two CPU cores
    python scripts/train_pretrained_lstm.py --minutes 2 --out /tmp/try.keras   # a quick try

Data: the training split of ``load_melodies()`` (Essen + O'Neill folk tunes, split by tune
family), sixteenth-note event tokens, each tune as ``[START] + tune + [END]``. Early stopping
watches the validation split; the test split is scored once at the end and written to the JSON.

Writes ``musegen_helpers/models/pretrained/lstm_melody.keras`` (safe-mode loadable, < 5 MB) and
``lstm_melody.json`` (configuration, epochs, per-epoch losses in bits per token, training time,
held-out scores). The same seed and settings give the same model on the same machine.

Lesson: 03_lstm
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
    p.add_argument("--units", type=int, default=384)
    p.add_argument("--layers", type=int, default=1)
    p.add_argument("--embedding-dim", type=int, default=64)
    p.add_argument("--dropout", type=float, default=0.3)
    p.add_argument("--learning-rate", type=float, default=3e-3)
    p.add_argument("--window", type=int, default=128, help="steps per training window")
    p.add_argument("--stride", type=int, default=None, help="steps between window starts (default: window)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--transpose", type=int, default=5, help="random transposition range in semitones (0 = off)")
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--patience", type=int, default=4)
    p.add_argument("--minutes", type=float, default=30.0, help="stop after the epoch that passes this budget")
    p.add_argument("--threads", type=int, default=2, help="TensorFlow CPU threads")
    p.add_argument("--seed", type=int, default=2024)
    p.add_argument("--limit", type=int, default=None, help="use only this many tunes (a quick try)")
    p.add_argument("--out", type=Path, default=None, help="model path (default: the package's pretrained/)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing model file")
    p.add_argument("--no-baseline", dest="baseline", action="store_false",
                   help="skip fitting the Kneser-Ney baseline written to the JSON")
    p.add_argument("--baseline-only", action="store_true",
                   help="do not train: refit the Kneser-Ney baseline and rewrite only the JSON's 'baseline' "
                        "block of the existing model (after a change to musegen_helpers.ngram)")
    return p.parse_args(argv)


def split_tokens(limit=None) -> dict:
    """The token lists of load_melodies()'s train, valid and test splits (the first ``limit`` tunes)."""
    from musegen_helpers.datasets import load_melodies

    data = load_melodies(limit=limit)
    return {split: data.split(split).tokens() for split in ("train", "valid", "test")}


def refresh_baseline(args) -> dict:
    """Rewrite the 'baseline' block of the model's JSON, leaving the model and its other numbers as
    they are (the n-gram changed, the LSTM did not)."""
    from musegen_helpers.files import atomic_write
    from musegen_helpers.models import lstm

    out = (args.out or lstm.PRETRAINED_PATH).with_suffix(".json")
    info = json.loads(out.read_text())
    tokens = split_tokens(args.limit)
    info["baseline"] = kneser_ney_baseline(tokens)
    info["baseline"]["command"] = "python scripts/train_pretrained_lstm.py --baseline-only"
    atomic_write(out, lambda fh: fh.write((json.dumps(info, indent=2) + "\n").encode()))
    print(json.dumps(info["baseline"], indent=2))
    return info


def kneser_ney_baseline(tokens: dict) -> dict:
    """The n-gram the LSTM must beat: Kneser-Ney of the order (1..32) that scores best on the
    validation tunes, scored on the same test tokens as the LSTM (each tune + END, from its start)."""
    from musegen_helpers import ngram
    from musegen_helpers.scoring import bits_per_token, with_end

    tunes = {s: with_end(v) for s, v in tokens.items()}
    started = time.time()
    kn = ngram.best_kneser_ney(tunes["train"], tunes["valid"], orders=range(1, ngram.MAX_ORDER + 1))
    return {"model": "musegen_helpers.ngram.best_kneser_ney, orders 1-32, chosen on validation",
            "order": kn.order,
            "valid_bits_per_token": round(float(kn.validation_bits_), 5),
            "test_bits_per_token": round(bits_per_token(kn, tunes["test"]), 5),
            "test_onset_bits_per_token": round(bits_per_token(kn, tunes["test"], onsets_only=True), 5),
            "fit_seconds": round(time.time() - started, 1)}


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.baseline_only:
        return refresh_baseline(args)
    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    import keras

    from musegen_helpers.config import seed_everything
    from musegen_helpers.models import lstm

    out = args.out or lstm.PRETRAINED_PATH
    if out.exists() and not args.overwrite:
        raise SystemExit(f"{out} exists; pass --overwrite to replace it.")
    seed_everything(args.seed)
    keras.utils.set_random_seed(args.seed)

    tokens = split_tokens(args.limit)
    for split, seqs in tokens.items():
        print(f"{split}: {len(seqs)} tunes, {sum(len(s) for s in seqs)} tokens", flush=True)

    train_ds = lstm.make_windows(tokens["train"], window=args.window, stride=args.stride,
                                 batch_size=args.batch_size, seed=args.seed, transpose=args.transpose)
    valid_ds = lstm.make_windows(tokens["valid"], window=args.window, batch_size=args.batch_size, shuffle=False)
    model = lstm.build_melody_model(embedding_dim=args.embedding_dim, units=args.units, layers=args.layers,
                                    dropout=args.dropout, learning_rate=args.learning_rate, seed=args.seed)
    model.summary()

    started = time.time()
    budget_s = args.minutes * 60.0

    class TimeBudget(keras.callbacks.Callback):
        """Stop after the epoch that runs past the time budget (the best weights are kept)."""

        def on_epoch_end(self, epoch, logs=None):
            elapsed = time.time() - started
            print(f"  epoch {epoch + 1}: {elapsed / 60:.1f} min, train {logs['loss'] / math.log(2):.4f}, "
                  f"valid {logs['val_loss'] / math.log(2):.4f} bits/token, "
                  f"lr {float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)):.2g}", flush=True)
            if elapsed > budget_s:
                self.model.stop_training = True

    callbacks = [
        # halve the step size when validation stalls: the last improvements need small steps
        keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1, min_lr=1e-5, verbose=0),
        TimeBudget(),
    ]
    history = lstm.train(model, train_ds, valid_ds, epochs=args.epochs, callbacks=callbacks,
                         patience=args.patience, live_plot=False, verbose=2)
    train_seconds = time.time() - started

    to_bits = lambda xs: [round(float(x) / math.log(2), 5) for x in xs]  # noqa: E731
    from musegen_helpers.scoring import bits_per_token, with_end

    scorer = lstm.LSTMScorer(model)   # each tune + END, from its start: the n-gram's tokens
    valid_bits = bits_per_token(scorer, with_end(tokens["valid"]))
    test_bits = bits_per_token(scorer, with_end(tokens["test"]))
    test_onset_bits = bits_per_token(scorer, with_end(tokens["test"]), onsets_only=True)
    losses = history.history
    best_epoch = int(np.argmin(losses["val_loss"])) + 1
    lstm.save_model(model, out, overwrite=args.overwrite)
    info = {
        "model": "melody LSTM (musegen_helpers.models.lstm.build_melody_model)",
        "config": {"vocab_size": 131, "embedding_dim": args.embedding_dim, "units": args.units,
                   "layers": args.layers, "dropout": args.dropout, "learning_rate": args.learning_rate,
                   "clipnorm": 1.0, "window": args.window, "stride": args.stride or args.window,
                   "batch_size": args.batch_size, "transpose_augmentation": args.transpose,
                   "seed": args.seed, "steps_per_quarter": 4,
                   "start_token": "END (each tune is fed as [END] + tune + [END])"},
        "data": {"source": "musegen_helpers.datasets.load_melodies()", "limit": args.limit,
                 **{f"{s}_tunes": len(v) for s, v in tokens.items()},
                 **{f"{s}_tokens": int(sum(len(t) + 1 for t in v)) for s, v in tokens.items()}},
        "epochs": len(losses["loss"]),
        "best_epoch": best_epoch,
        "history": {"train_bits_per_token": to_bits(losses["loss"]),
                    "valid_bits_per_token": to_bits(losses["val_loss"])},
        "valid_bits_per_token": round(valid_bits, 5),
        "test_bits_per_token": round(test_bits, 5),
        "test_onset_bits_per_token": round(test_onset_bits, 5),
        "train_seconds": round(train_seconds, 1),
        "machine": f"{platform.machine()}, {args.threads} TensorFlow threads",
        "versions": {"keras": keras.__version__, "tensorflow": tf.__version__, "numpy": np.__version__},
        "command": "python scripts/train_pretrained_lstm.py " + " ".join(sys.argv[1:] if argv is None else argv),
    }
    if args.baseline:
        info["baseline"] = kneser_ney_baseline(tokens)
    out.with_suffix(".json").write_text(json.dumps(info, indent=2) + "\n")
    print(json.dumps({k: info[k] for k in ("epochs", "best_epoch", "valid_bits_per_token", "test_bits_per_token",
                                           "test_onset_bits_per_token", "train_seconds", "baseline") if k in info},
                     indent=2))
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB)")
    return info


if __name__ == "__main__":
    main()
