"""Lesson 03's exercise checks: right answers pass, known wrong answers are explained."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from musegen_helpers.lessons import lesson03
from musegen_helpers.lessons.lesson03 import ____, q2, q1, q3, q4


def verdict(exercise, answer):
    passed, feedback = exercise.evaluate(answer)
    return passed, feedback.message


def test_importing_the_lesson_does_not_import_tensorflow():
    code = "import sys, musegen_helpers.lessons.lesson03; print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


@pytest.mark.parametrize("exercise", [q2, q1, q3, q4])
def test_placeholder_and_unwritten_function_are_not_attempted(exercise):
    def unwritten(*args):
        raise NotImplementedError("Exercise: write this function")

    assert exercise.evaluate(____)[0] is None
    assert exercise.evaluate(unwritten)[0] is None


# ---- q2: windows -------------------------------------------------------------------------
def good_pairs(tokens, window):
    tokens = np.asarray(tokens)
    starts = range(0, len(tokens) - window, window)
    return (np.array([tokens[s:s + window] for s in starts]),
            np.array([tokens[s + 1:s + window + 1] for s in starts]))


def test_windows_right_answer_passes():
    assert verdict(q2, good_pairs)[0] is True
    x, y = lesson03.training_pairs(np.arange(10), 3)
    np.testing.assert_array_equal(x, [[0, 1, 2], [3, 4, 5], [6, 7, 8]])
    np.testing.assert_array_equal(y, [[1, 2, 3], [4, 5, 6], [7, 8, 9]])


def test_windows_without_shift_are_explained():
    def no_shift(tokens, window):
        x, _ = good_pairs(tokens, window)
        return x, x.copy()

    passed, message = verdict(q2, no_shift)
    assert passed is False and "next" in message


def test_windows_shifted_backwards_are_explained():
    def backwards(tokens, window):
        tokens = np.asarray(tokens)
        starts = range(1, len(tokens) - window + 1, window)
        return (np.array([tokens[s:s + window] for s in starts]), np.array([tokens[s - 1:s + window - 1] for s in starts]))

    passed, message = verdict(q2, backwards)
    assert passed is False


def test_one_window_too_many_is_explained():
    def too_many(tokens, window):
        tokens = np.asarray(tokens)
        starts = range(0, len(tokens) - window + 1, window)
        return (np.array([tokens[s:s + window] for s in starts]),
                np.array([np.resize(tokens[s + 1:s + window + 1], window) for s in starts]))

    passed, message = verdict(q2, too_many)
    assert passed is False and ("too many" in message or "shape" in message)



def test_windows_shifted_backwards_name_the_direction():
    def backwards(tokens, window):
        x, y = good_pairs(tokens, window)
        return y, x  # inputs and targets swapped

    passed, message = verdict(q2, backwards)
    assert passed is False and "swapped" in message


def pairs_with(starts_of, input_extra=0, target_shift=lambda window: 1):
    """A learner's make_training_pairs with one slip: its window starts, input width or target shift."""
    def make(tokens, window):
        tokens = np.asarray(tokens)
        starts = starts_of(len(tokens), window)
        shift = target_shift(window)
        return (np.array([tokens[s:s + window + input_extra] for s in starts]),
                np.array([tokens[s + shift:s + shift + window] for s in starts]))
    return make


@pytest.mark.parametrize("wrong, words", [
    # windows starting at every step instead of every `window` steps
    (pairs_with(lambda n, w: range(0, n - w)), "overlap"),
    # range(0, len(tokens) - window - 1, window) drops a window that is still complete
    (pairs_with(lambda n, w: range(0, n - w - 1, w)), "one too few"),
    # inputs tokens[s : s + window + 1]: one token too many per window
    (pairs_with(lambda n, w: range(0, n - w, w), input_extra=1), "tokens long, one too many"),
    # targets tokens[s + window : s + 2 * window]: the next window instead of the next token
    (pairs_with(lambda n, w: range(0, n - w, w), target_shift=lambda w: w), "next window"),
    # range(0, len(tokens), window): the incomplete last window kept, and np.array refuses the ragged list
    (pairs_with(lambda n, w: range(0, n, w)), "runs past the end of the tune"),
])
def test_window_mistakes_are_named(wrong, words):
    passed, message = verdict(q2, wrong)
    assert passed is False and words in message, message


def test_the_right_pairs_helper_passes():
    assert verdict(q2, pairs_with(lambda n, w: range(0, n - w, w)))[0] is True

# ---- q1: the classic model in Keras 3 ---------------------------------------------------
keras = pytest.importorskip("keras")


def fixed_model(seq_length, pitch_count):
    model = keras.Sequential([
        keras.Input(shape=(seq_length, pitch_count)),
        keras.layers.LSTM(128, return_sequences=True),
        keras.layers.Dense(pitch_count, activation="softmax"),
    ])
    model.compile(loss="categorical_crossentropy", optimizer=keras.optimizers.RMSprop(learning_rate=0.01))
    return model


def test_fixed_model_passes_and_the_helper_builds_the_same():
    assert verdict(q1, fixed_model)[0] is True
    from musegen_helpers.models.lstm import build_legacy_model
    assert verdict(q1, build_legacy_model)[0] is True


def test_old_lr_argument_is_explained():
    def old_style(seq_length, pitch_count):
        model = fixed_model(seq_length, pitch_count)
        model.compile(loss="categorical_crossentropy", optimizer=keras.optimizers.RMSprop(**{"l" "r": 0.01}))
        return model

    passed, message = verdict(q1, old_style)
    assert passed is False and "learning_rate" in message


def test_model_without_return_sequences_or_softmax_is_explained():
    def last_step_only(seq_length, pitch_count):
        model = keras.Sequential([keras.Input(shape=(seq_length, pitch_count)), keras.layers.LSTM(128),
                                  keras.layers.Dense(pitch_count, activation="softmax")])
        model.compile(loss="categorical_crossentropy", optimizer=keras.optimizers.RMSprop(learning_rate=0.01))
        return model

    def no_softmax(seq_length, pitch_count):
        model = keras.Sequential([keras.Input(shape=(seq_length, pitch_count)),
                                  keras.layers.LSTM(128, return_sequences=True), keras.layers.Dense(pitch_count)])
        model.compile(loss="categorical_crossentropy", optimizer=keras.optimizers.RMSprop(learning_rate=0.01))
        return model

    assert "return_sequences" in verdict(q1, last_step_only)[1]
    assert "softmax" in verdict(q1, no_softmax)[1]


def test_wrong_learning_rate_and_missing_return_are_explained():
    def slow(seq_length, pitch_count):
        model = fixed_model(seq_length, pitch_count)
        model.compile(loss="categorical_crossentropy", optimizer=keras.optimizers.RMSprop(learning_rate=0.001))
        return model

    def forgot_return(seq_length, pitch_count):
        fixed_model(seq_length, pitch_count)

    assert "0.001" in verdict(q1, slow)[1]
    assert "return" in verdict(q1, forgot_return)[1]



def compiled(layers, loss="categorical_crossentropy", optimizer=None):
    model = keras.Sequential(layers)
    model.compile(loss=loss, optimizer=optimizer or keras.optimizers.RMSprop(learning_rate=0.01))
    return model


@pytest.mark.parametrize("slip, words", [
    # input_shape= on the LSTM (Keras 3 warns; the exercise asks for keras.Input)
    (lambda s, p: compiled([keras.layers.LSTM(128, input_shape=(s, p), return_sequences=True),
                            keras.layers.Dense(p, activation="softmax")]), "input_shape="),
    # keras.Input(shape=(pitch_count, seq_length))
    (lambda s, p: compiled([keras.Input(shape=(p, s)), keras.layers.LSTM(128, return_sequences=True),
                            keras.layers.Dense(p, activation="softmax")]), "swapped"),
    # LSTM(seq_length) — the window length taken for the number of units
    (lambda s, p: compiled([keras.Input(shape=(s, p)), keras.layers.LSTM(s, return_sequences=True),
                            keras.layers.Dense(p, activation="softmax")]), "units"),
    # two LSTM layers
    (lambda s, p: compiled([keras.Input(shape=(s, p)), keras.layers.LSTM(128, return_sequences=True),
                            keras.layers.LSTM(128, return_sequences=True),
                            keras.layers.Dense(p, activation="softmax")]), "2 LSTM layers"),
    # sparse loss with one-hot targets
    (lambda s, p: compiled([keras.Input(shape=(s, p)), keras.layers.LSTM(128, return_sequences=True),
                            keras.layers.Dense(p, activation="softmax")], loss="sparse_categorical_crossentropy"),
     "one-hot"),
    # Adam instead of RMSprop
    (lambda s, p: compiled([keras.Input(shape=(s, p)), keras.layers.LSTM(128, return_sequences=True),
                            keras.layers.Dense(p, activation="softmax")],
                           optimizer=keras.optimizers.Adam(learning_rate=0.01)), "RMSprop"),
    # keras.Input(shape=(seq_length,)): token ids where the classic model reads one-hot vectors
    (lambda s, p: compiled([keras.Input(shape=(s,)), keras.layers.LSTM(128, return_sequences=True),
                            keras.layers.Dense(p, activation="softmax")]), "two dimensions"),
    # not compiled at all
    (lambda s, p: keras.Sequential([keras.Input(shape=(s, p)), keras.layers.LSTM(128, return_sequences=True),
                                    keras.layers.Dense(p, activation="softmax")]), "compile"),
])
def test_classic_model_slips_are_named(slip, words):
    passed, message = verdict(q1, slip)
    assert passed is False and words in message, message

# ---- q3: temperature ----------------------------------------------------------------------
def test_temperature_right_answer_passes():
    def mine(probs, temperature):
        with np.errstate(divide="ignore"):
            z = np.log(np.asarray(probs, dtype=float)) / temperature
        q = np.exp(z - z.max())
        return q / q.sum()

    assert verdict(q3, mine)[0] is True


def test_temperature_reference_agrees_with_the_sampling_module():
    from musegen_helpers.sampling import apply_temperature
    p = np.array([0.5, 0.3, 0.15, 0.05])
    for t in (0.3, 1.0, 2.5):
        np.testing.assert_allclose(lesson03.with_temperature(p, t), apply_temperature(p, t), atol=1e-12)


def test_temperature_without_renormalising_is_explained():
    passed, message = verdict(q3, lambda probs, temperature: np.asarray(probs) ** (1 / temperature))
    assert passed is False and "sum" in message


def test_temperature_multiplied_instead_of_divided_is_wrong():
    def backwards(probs, temperature):
        q = np.asarray(probs) ** temperature
        return q / q.sum()

    assert verdict(q3, backwards)[0] is False



def plain_power(probs, temperature):
    q = np.asarray(probs, dtype=float) ** (1 / temperature)
    return q / q.sum()


def exp_log_without_the_max(probs, temperature):
    with np.errstate(divide="ignore"):
        q = np.exp(np.log(np.asarray(probs, dtype=float)) / temperature)
    return q / q.sum()


def divide_by_the_largest_first(probs, temperature):
    p = np.asarray(probs, dtype=float)
    q = (p / p.max()) ** (1 / temperature)
    return q / q.sum()


@pytest.mark.parametrize("wrong", [plain_power, exp_log_without_the_max])
def test_temperature_that_underflows_is_caught_and_explained(wrong):
    """The exercise warns that p ** (1/T) underflows; the hidden inputs include that case (a flat
    distribution over 131 tokens at T = 0.005, where every p ** (1/T) is 0 and 0/0 = nan)."""
    with np.errstate(all="ignore"):
        assert np.all(np.isnan(wrong(lesson03._flat, 0.005)))  # the case really underflows
        assert np.allclose(wrong(np.array([0.5, 0.3, 0.15, 0.05]), 0.5),
                           lesson03.with_temperature(np.array([0.5, 0.3, 0.15, 0.05]), 0.5))  # else right
        passed, message = verdict(q3, wrong)
    assert passed is False
    assert "underflow" in message and "log" in message and "z.max()" in message and "temperature=0.005" in message


def test_temperature_dividing_by_the_largest_first_is_right():
    assert verdict(q3, divide_by_the_largest_first)[0] is True


@pytest.mark.parametrize("wrong, words", [
    # forgot to renormalise
    (lambda probs, temperature: np.asarray(probs) ** (1 / temperature), "renormalise"),
    # divided the probabilities by T: renormalising cancels it
    (lambda probs, temperature: (np.asarray(probs) / temperature) / np.sum(np.asarray(probs) / temperature),
     "changed nothing"),
    # raised to the power T instead of 1/T
    (lambda probs, temperature: np.asarray(probs) ** temperature / np.sum(np.asarray(probs) ** temperature),
     "power T"),
    # softmax of p / T: probabilities treated as logits
    (lambda probs, temperature: np.exp(np.asarray(probs) / temperature) /
     np.sum(np.exp(np.asarray(probs) / temperature)), "as logits"),
])
def test_temperature_mistakes_are_named(wrong, words):
    with np.errstate(all="ignore"):
        passed, message = verdict(q3, wrong)
    assert passed is False and words in message, message

# ---- q4: bits per token -------------------------------------------------------------------
def test_bits_right_answer_passes_and_halves_cost_one_bit():
    assert verdict(q4, lambda p: -np.mean(np.log2(p)))[0] is True
    assert lesson03.bits_per_token_of([0.5, 0.25]) == pytest.approx(1.5)


@pytest.mark.parametrize("wrong, words", [
    (lambda p: np.mean(np.log2(p)), "minus"),
    (lambda p: -np.mean(np.log(p)), "nats"),
    (lambda p: np.mean(np.log(p)), "negative and in nats"),
    (lambda p: -np.sum(np.log2(p)), "total"),
    (lambda p: -np.log2(np.mean(p)), "average of the logs"),
    (lambda p: -np.mean(np.log10(p)), "log base 10"),
    (lambda p: 2 ** -np.mean(np.log2(p)), "perplexity"),
    (lambda p: -np.log2(p), "one per token"),
])
def test_bits_known_mistakes_are_explained(wrong, words):
    passed, message = verdict(q4, wrong)
    assert passed is False and words in message


# ---- lesson helpers: the key-mask demo, the training-time line -------------------------------
ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]


def notebook_cell(folder, needle):
    import nbformat
    nb = nbformat.read(ROOT / folder / "03_lstm.ipynb", as_version=4)
    found = [c.source for c in nb.cells if c.cell_type == "code" and needle in c.source]
    assert len(found) == 1, f"expected one cell with {needle!r} in {folder}/03_lstm.ipynb, found {len(found)}"
    return found[0]


def test_notes_outside_key_counts_note_starts_only():
    from musegen_helpers.representation import END, HOLD, REST
    g_major_with_slips = [67, HOLD, 65, HOLD, 66, REST, 61, HOLD, HOLD, END]   # F natural and C# are not in G major
    assert lesson03.notes_outside_key(g_major_with_slips, "G major") == 2
    assert lesson03.notes_outside_key(g_major_with_slips, "D major") == 1     # D major has F# and C#; only F is out
    assert lesson03.notes_outside_key([], "G major") == 0
    with pytest.raises(ValueError):
        lesson03.notes_outside_key([60], "H major")


def test_seed_search_says_when_no_seed_leaves_the_key():
    class InKey:
        def generate(self, length, seed=0, **settings):
            return np.array([67, 69, 71, 72] * (length // 4))

    with pytest.raises(ValueError, match="none of the seeds"):
        lesson03.seed_with_notes_outside(InKey(), "G major", seeds=range(3))


def test_key_mask_demo_shows_a_sample_the_mask_changes():
    """The notebook's own call (seeds, key, settings) on the pretrained model: the free sample has
    notes outside G major, the masked one with the same seed differs and has none."""
    import ast
    from musegen_helpers.models import lstm

    source = notebook_cell("solutions", "seed_with_notes_outside(sampler")
    call = next(node for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Call)
                and getattr(node.func, "id", "") == "seed_with_notes_outside")
    key = ast.literal_eval(call.args[1])
    kwargs = {kw.arg: eval(compile(ast.Expression(kw.value), "cell", "eval")) for kw in call.keywords}  # range(...)
    sampler = lstm.MelodySampler(lstm.load_pretrained())
    seed, free, outside = lesson03.seed_with_notes_outside(sampler, key, **kwargs)
    masked = sampler.generate(len(free), seed=seed, temperature=kwargs.get("temperature", 1.0), key=key)
    assert outside >= 3 and lesson03.notes_outside_key(free, key) == outside
    assert not np.array_equal(free, masked)
    assert lesson03.notes_outside_key(masked, key) == 0


def test_epoch_timer_estimates_the_time_left(capsys):
    timer = lesson03.epoch_timer(4)
    assert "estimated once this epoch is done" in timer.message(0)
    timer.durations = [40.0, 60.0]
    assert timer.message(2) == "epoch 3 of at most 4 — 50 s per epoch so far: at most 100 s left"
    timer.durations = [100.0]
    assert "at most 5.0 min left" in timer.message(1)
    with pytest.raises(ValueError):
        lesson03.epoch_timer(0)

    model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(1)])
    model.compile(loss="mse", optimizer="sgd")
    model.fit(np.zeros((8, 3)), np.zeros((8, 1)), epochs=2, verbose=0, callbacks=[lesson03.epoch_timer(2)])
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("epoch 1 of at most 2") and printed[1].startswith("epoch 2 of at most 2 — ")
    assert "left" in printed[1]


def test_long_cells_say_how_long_they_take():
    """Each cell that runs longer than about 20 s in normal mode is announced with its time."""
    import nbformat
    nb = nbformat.read(ROOT / "solutions" / "03_lstm.ipynb", as_version=4)
    for needle in ("classic.fit(", "lstm.train(model,", "bits_per_token(kn, scored)", "lstm.train(my_model,"):
        index = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and needle in c.source)
        before = next(c.source for c in reversed(nb.cells[:index]) if c.cell_type == "markdown")
        assert "takes about" in before, f"the markdown before the cell with {needle!r} does not say how long it takes"


# ---- answers not given away ----------------------------------------------------------------
def test_section_8_says_whose_formula_it_used():
    """Before Exercise 4 is solved, the scoring cell uses the reference silently and says so; it
    never calls the reference 'your formula'."""
    source = notebook_cell("notebooks", "q4.answer_or_reference(")
    lines = [line for line in source.splitlines() if line.startswith(("to_bits =", "whose ="))]
    assert len(lines) == 2

    def unwritten(probs):
        raise NotImplementedError("Exercise: write this function")

    def mine(probs):
        return float(-np.mean(np.log2(probs)))

    for answer, expected in ((unwritten, "the reference formula"), (____, "the reference formula"),
                             (mine, "your formula")):
        namespace = {"q4": q4, "my_bits_per_token": answer}
        exec("\n".join(lines), namespace)
        assert namespace["whose"].startswith(expected)
    assert "your formula" not in source.replace('"your formula" if', "")


def test_no_student_cell_shows_a_solution():
    import nbformat
    nb = nbformat.read(ROOT / "notebooks" / "03_lstm.ipynb", as_version=4)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    for source in code:
        for line in source.splitlines():
            assert not (line.strip().startswith(("q1.solution", "q2.solution", "q3.solution", "q4.solution"))), line
            assert "getsource(lesson03" not in line and "getsource(q" not in line, line
