"""A blind A/B listening test: a notebook widget, answers saved to CSV, and the statistics.

Numbers such as pitch-class entropy say whether generated music *resembles* real music; only
listeners can say whether it is *good*. A listening test is an experiment, and three habits
keep it honest:

* **Blinding.** The listener never learns which system made which excerpt. Knowing that a
  piece is "by the AI" or "by Bach" changes what people hear (expectation bias), and the
  experimenter's own hopes leak through labels, file names and the order of buttons. Here
  excerpts are only ever called "A" and "B"; the system names go to the results file, not to
  the screen.
* **Randomisation.** Which systems meet, which excerpts are drawn and which one is "A" are
  decided by a seeded random generator. Listeners favour the first (or the last) of a pair
  and tire over a session; randomising spreads these biases evenly over the systems instead
  of letting them pile onto one. Pairings are balanced: every pair of systems comes up about
  equally often. The seed makes the plan reproducible.
* **Enough raters and answers.** One listener's taste is not a population's, and answers from
  the same listener are not independent. The statistics are blunt with small numbers: 8
  preferences out of 10 for one system still gives p ≈ 0.11 under a two-sided sign test, and
  telling a 60 % preference from chance needs around 200 answers. Collect from many raters,
  merge their files (:func:`merge_results`), and report the confidence intervals, not only the
  win rates.

Saving survives a kernel crash: each answer rewrites the whole file — the old rows plus the
new ones — into a temporary file in the same folder, which is flushed and ``fsync`` ed and then
moved over the old file with ``os.replace``. A crash at any moment leaves either the old file
or the new one, both complete; the file is never truncated or left with half a line.
Appending a line instead would be shorter, but an append can be cut off mid-line (POSIX makes
``O_APPEND`` writes atomic only for pipes, not for a crash), and a half line corrupts every
row read after it. The files are small (one row per answer), so rewriting costs nothing
noticeable. If a save fails, the widget keeps the answer and saves it with the next one.

Statistics (:func:`analyse`): each system's win rate = wins / (wins + losses), "no
preference" answers left out (as the sign test does); a two-sided exact sign (binomial) test
against 50 %; and Wilson score confidence intervals (Wilson, JASA 1927; Newcombe, Statistics
in Medicine 1998), which behave well for small samples and rates near 0 or 1.

Lesson: 05_evaluation
"""

from __future__ import annotations

import csv
import itertools
import math
import os
import random
import zlib
from datetime import datetime, timezone
from pathlib import Path
from statistics import NormalDist
from typing import Iterable, Mapping, Sequence

from .metrics import Table

__all__ = [
    "FIELDS", "PREFERENCES", "make_trials", "save_answers", "read_results", "merge_results",
    "sign_test", "wilson_interval", "analyse", "ListeningAnalysis", "plot_results", "ListeningTest",
]

#: The columns of a results file, in order.
FIELDS = ("rater", "session", "trial", "system_a", "index_a", "system_b", "index_b", "preference",
          "preferred_system", "confidence", "comment", "time")
#: What a listener may answer.
PREFERENCES = ("A", "B", "none")
_INT_FIELDS = ("trial", "index_a", "index_b", "confidence")


# ---------------------------------------------------------------------------------------
# the plan: which excerpts meet, in which order
# ---------------------------------------------------------------------------------------
def make_trials(systems: Mapping[str, Sequence], n_trials: int, seed: int = 0) -> list[dict]:
    """A random, balanced plan of ``n_trials`` A/B comparisons between different systems.

    Every pair of systems appears about equally often (the pairs are cycled, then shuffled);
    each trial draws one excerpt from each system at random and puts them in random order.
    Returns ``[{'trial': 1, 'system_a': ..., 'index_a': ..., 'system_b': ..., 'index_b': ...}, ...]``.
    The same seed gives the same plan.
    """
    names = [name for name, pieces in systems.items()]
    if len(names) < 2:
        raise ValueError(f"a listening test compares at least 2 systems; got {len(names)} ({names}).")
    empty = [name for name in names if len(systems[name]) == 0]
    if empty:
        raise ValueError(f"system(s) {empty} have no excerpts; give each system at least one piece.")
    if int(n_trials) != n_trials or n_trials < 1:
        raise ValueError(f"n_trials must be a whole number >= 1, got {n_trials!r}.")
    rng = random.Random(seed)
    pairs = list(itertools.combinations(names, 2))
    plan = []
    while len(plan) < n_trials:
        block = pairs[:]
        rng.shuffle(block)
        plan += block
    plan = plan[:int(n_trials)]
    rng.shuffle(plan)
    trials = []
    for i, pair in enumerate(plan, start=1):
        first, second = pair if rng.random() < 0.5 else pair[::-1]
        trials.append({"trial": i,
                       "system_a": first, "index_a": rng.randrange(len(systems[first])),
                       "system_b": second, "index_b": rng.randrange(len(systems[second]))})
    return trials


# ---------------------------------------------------------------------------------------
# the results file
# ---------------------------------------------------------------------------------------
def _read_raw(path: Path) -> list[dict[str, str]]:
    """The rows of a results file as strings, exactly as stored; [] when there is no file."""
    if not path.exists():
        return []
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        header = tuple(reader.fieldnames or ())
        if header and header != FIELDS:
            raise ValueError(f"{path} is not a listening-test results file: its columns are {list(header)}, "
                             f"expected {list(FIELDS)}. Choose another file name so that it is not overwritten.")
        rows = list(reader)
    for i, row in enumerate(rows, start=2):
        if None in row or any(v is None for v in row.values()):
            raise ValueError(f"{path}, line {i}: wrong number of columns; the file was edited or damaged. "
                             "Fix or remove that line.")
    return rows


def _as_strings(row: Mapping) -> dict[str, str]:
    missing = [f for f in FIELDS if f not in row and f not in ("comment", "time", "session", "rater")]
    if missing:
        raise ValueError(f"an answer needs the fields {missing}; it has {sorted(row)}.")
    if row.get("preference") not in PREFERENCES:
        raise ValueError(f"preference must be one of {PREFERENCES}, got {row.get('preference')!r}.")
    confidence = int(row["confidence"])
    if not 1 <= confidence <= 5:
        raise ValueError(f"confidence must be 1 (a guess) to 5 (certain), got {row['confidence']!r}.")
    return {f: "" if row.get(f) is None else str(row.get(f)) for f in FIELDS}


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); folders cannot be opened on Windows."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def save_answers(path, answers: Iterable[Mapping]) -> Path:
    """Add answers (dicts with the :data:`FIELDS`) to a results CSV without ever losing one.

    Reads the rows already there, writes old + new rows to a temporary file in the same
    folder, flushes and fsyncs it, then ``os.replace`` s the old file with it (atomic). If
    anything fails, the old file is untouched and the error is raised; the temporary file is
    removed. See the module docstring for why this, not appending.
    """
    path = Path(path)
    new = [_as_strings(a) for a in answers]
    rows = _read_raw(path) + new
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=FIELDS)
            writer.writeheader()
            writer.writerows(rows)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        _fsync_folder(path.parent)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def _typed(row: Mapping[str, str]) -> dict:
    out = dict(row)
    for f in _INT_FIELDS:
        try:
            out[f] = int(row[f])
        except (TypeError, ValueError):
            raise ValueError(f"the {f!r} of an answer must be a whole number, got {row[f]!r}.") from None
    return out


def read_results(path) -> list[dict]:
    """The answers in one results file: dicts with the :data:`FIELDS` (``trial``, ``index_a``,
    ``index_b`` and ``confidence`` as ints). A missing file raises FileNotFoundError."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no results file at {path}; check the path (each rater's widget wrote one).")
    return [_typed(r) for r in _read_raw(path)]


def merge_results(paths) -> list[dict]:
    """All answers from several results files (e.g. one per student), in file order.

    Rows that are identical in every column — the same file handed in twice, or copied
    into another — are kept once. ``paths`` is a list of paths (or one path).
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    seen, out = set(), []
    for p in paths:
        for row in read_results(p):
            key = tuple(str(row[f]) for f in FIELDS)
            if key not in seen:
                seen.add(key)
                out.append(row)
    return out


# ---------------------------------------------------------------------------------------
# statistics
# ---------------------------------------------------------------------------------------
def sign_test(wins: int, losses: int) -> float:
    """Two-sided exact sign test: the chance, if both systems were equally liked, of a split
    at least as uneven as ``wins`` : ``losses`` (ties are left out before calling).

    ``p = min(1, 2 * P(X <= min(wins, losses)))`` with ``X ~ Binomial(wins + losses, 1/2)``;
    equal to ``scipy.stats.binomtest(wins, wins + losses, 0.5).pvalue``. 1.0 when n = 0.
    """
    wins, losses = int(wins), int(losses)
    if wins < 0 or losses < 0:
        raise ValueError(f"wins and losses are counts (>= 0), got {wins} and {losses}.")
    n = wins + losses
    if n == 0:
        return 1.0
    k = min(wins, losses)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n
    return min(1.0, 2.0 * tail)


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score confidence interval for a proportion ``successes / n``.

    ``centre ± z * sqrt(4 n p (1 − p) + z²) / (2 (n + z²))`` with ``centre = (2 n p + z²) / (2 (n + z²))``
    and ``z`` the normal quantile (1.96 for 95 %); the bound is exactly 0 (or 1) when
    ``successes`` is 0 (or n), as in ``scipy.stats.binomtest(...).proportion_ci('wilson')``.
    ``(nan, nan)`` when n = 0.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1 (e.g. 0.95), got {confidence!r}.")
    successes, n = int(successes), int(n)
    if not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n, got successes={successes}, n={n}.")
    if n == 0:
        return math.nan, math.nan
    z = NormalDist().inv_cdf(0.5 + 0.5 * confidence)
    p = successes / n
    denom = 2 * (n + z ** 2)
    centre = (2 * n * p + z ** 2) / denom
    delta = z / denom * math.sqrt(4 * n * p * (1 - p) + z ** 2)
    low = 0.0 if successes == 0 else centre - delta
    high = 1.0 if successes == n else centre + delta
    return low, high


class ListeningAnalysis:
    """The result of :func:`analyse`: ``.systems`` (one row per system) and ``.pairs`` (one
    row per pair of systems), both printable :class:`~musegen_helpers.metrics.Table` s."""

    def __init__(self, systems: Table, pairs: Table, n_answers: int, n_raters: int, confidence: float):
        self.systems, self.pairs = systems, pairs
        self.n_answers, self.n_raters, self.confidence = n_answers, n_raters, confidence

    def __repr__(self) -> str:
        return (f"{self.n_answers} answers from {self.n_raters} rater(s)\n\n{self.systems!r}\n\n{self.pairs!r}")

    def _repr_html_(self) -> str:
        return (f"<p>{self.n_answers} answers from {self.n_raters} rater(s)</p>"
                f"{self.systems._repr_html_()}{self.pairs._repr_html_()}")


def analyse(rows: Sequence[Mapping], confidence: float = 0.95) -> ListeningAnalysis:
    """Win rates, sign tests and confidence intervals from listening-test answers.

    Per system: how often it was compared, won, lost or tied ("no preference"); its win rate
    ``wins / (wins + losses)`` with a Wilson ``confidence`` interval; the two-sided sign-test
    p-value against 50 % (is it preferred, or disliked, more than chance?); and the listeners'
    mean confidence. Per pair of systems: who won how often, and the sign test between them.
    """
    rows = [_typed(_as_strings(r)) for r in rows]
    if not rows:
        raise ValueError("no answers to analyse yet: run the listening test, then read_results(path).")
    stats: dict[str, dict] = {}
    pairs: dict[tuple[str, str], dict] = {}

    def system(name):
        return stats.setdefault(name, {"wins": 0, "losses": 0, "ties": 0, "confidence": []})

    for r in rows:
        a, b = r["system_a"], r["system_b"]
        winner = {"A": a, "B": b}.get(r["preference"])
        first, second = sorted((a, b))
        pair = pairs.setdefault((first, second), {first: 0, second: 0, "ties": 0})
        for name in (a, b):
            s = system(name)
            s["confidence"].append(r["confidence"])
            if winner is None:
                s["ties"] += 1
            elif winner == name:
                s["wins"] += 1
            else:
                s["losses"] += 1
        if winner is None:
            pair["ties"] += 1
        else:
            pair[winner] += 1
    system_rows = []
    for name in sorted(stats, key=lambda s: -(stats[s]["wins"] / max(1, stats[s]["wins"] + stats[s]["losses"]))):
        s = stats[name]
        decided = s["wins"] + s["losses"]
        low, high = wilson_interval(s["wins"], decided, confidence)
        system_rows.append({
            "system": name, "comparisons": decided + s["ties"], "wins": s["wins"], "losses": s["losses"],
            "ties": s["ties"], "win_rate": s["wins"] / decided if decided else math.nan,
            "ci_low": low, "ci_high": high, "p_value": sign_test(s["wins"], s["losses"]),
            "mean_confidence": sum(s["confidence"]) / len(s["confidence"]),
        })
    pair_rows = []
    for (first, second), c in sorted(pairs.items()):
        pair_rows.append({"system_1": first, "system_2": second, "wins_1": c[first], "wins_2": c[second],
                          "ties": c["ties"], "p_value": sign_test(c[first], c[second])})
    raters = {r["rater"] for r in rows}
    level = f"{confidence:.0%}"
    return ListeningAnalysis(
        Table(system_rows, title=f"win rate per system (ties left out; {level} Wilson interval; sign test vs 50%)"),
        Table(pair_rows, title="head to head"), len(rows), len(raters), confidence)


def plot_results(analysis: ListeningAnalysis, ax=None, *, figsize=(6, 3)):
    """Win rate per system with its confidence interval; the dashed line is chance (50 %).

    An interval that crosses the line means the listeners could not tell the system from a
    coin toss. Returns ``(fig, ax)``.
    """
    import matplotlib.pyplot as plt

    if not isinstance(analysis, ListeningAnalysis):
        analysis = analyse(analysis)
    rows = [r for r in analysis.systems if not math.isnan(r["win_rate"])]
    if not rows:
        raise ValueError("every answer was 'no preference': there is no win rate to plot.")
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
    else:
        fig = ax.figure
    y = list(range(len(rows)))[::-1]
    rates = [r["win_rate"] for r in rows]
    errors = [[r["win_rate"] - r["ci_low"] for r in rows], [r["ci_high"] - r["win_rate"] for r in rows]]
    ax.barh(y, rates, color="#1f77b4", alpha=0.8)
    ax.errorbar(rates, y, xerr=errors, fmt="none", ecolor="black", capsize=4)
    ax.axvline(0.5, color="grey", ls="--", lw=1)
    for yi, r in zip(y, rows):
        ax.text(1.02, yi, f"{r['wins']}/{r['wins'] + r['losses']}  p={r['p_value']:.2g}", va="center", fontsize=8,
                transform=ax.get_yaxis_transform())
    ax.set_yticks(y)
    ax.set_yticklabels([r["system"] for r in rows])
    ax.set_xlim(0, 1)
    ax.set_xlabel(f"win rate (ties left out), {analysis.confidence:.0%} interval")
    ax.set_title(f"{analysis.n_answers} answers, {analysis.n_raters} rater(s)", fontsize=10)
    fig.tight_layout()
    return fig, ax


# ---------------------------------------------------------------------------------------
# the widget
# ---------------------------------------------------------------------------------------
class ListeningTest:
    """A blind A/B listening test in a notebook.

    ``systems`` maps a system's name to its excerpts (Pieces, token arrays... anything
    :func:`musegen_helpers.audio.play` plays). The listener sees only "A" and "B", plays both,
    picks one (or "no preference"), says how sure they are (1 = a guess, 5 = certain), may
    leave a comment, and presses *Save and next*. Every answer goes straight to
    ``results_path`` (crash-safe, see the module docstring). Restarting with the same file,
    rater and seed continues where the listener stopped. Without a ``seed``, the plan is seeded
    from the rater's name, so different raters hear the pairs in different random orders.

    >>> test = ListeningTest({"LSTM": lstm_tunes, "n-gram": ngram_tunes, "real": real_tunes},
    ...                      "results_ada.csv", rater="ada", n_trials=12)
    >>> test          # shows the widget
    """

    def __init__(self, systems: Mapping[str, Sequence], results_path, *, rater: str = "anonymous",
                 n_trials: int = 10, seed: int | None = None, session: str | None = None):
        self.systems = {name: list(pieces) for name, pieces in systems.items()}
        self.results_path = Path(results_path)
        self.rater = str(rater)
        if seed is None:  # each rater gets their own order, the same one every time they restart
            seed = zlib.crc32(self.rater.encode("utf-8"))
        self.session = session if session is not None else f"seed{seed}"
        self._trials = make_trials(self.systems, n_trials, seed)
        done = {r["trial"] for r in (read_results(self.results_path) if self.results_path.exists() else [])
                if r["rater"] == self.rater and r["session"] == self.session}
        self._queue = [t for t in self._trials if t["trial"] not in done]
        self._unsaved: list[dict] = []
        self._widget = None

    # -- state, usable without a screen ---------------------------------------------------
    @property
    def done(self) -> bool:
        """True when every trial has an answer (saved or waiting to be saved)."""
        return not self._queue

    @property
    def remaining(self) -> int:
        return len(self._queue)

    def current_pair(self):
        """The two excerpts of the current trial, as ``(A, B)`` (no system names)."""
        if self.done:
            raise ValueError("the test is finished: every pair has an answer.")
        t = self._queue[0]
        return self.systems[t["system_a"]][t["index_a"]], self.systems[t["system_b"]][t["index_b"]]

    def answer(self, preference: str, confidence: int = 3, comment: str = "") -> None:
        """Record the answer for the current pair and save it; then move to the next pair.

        ``preference`` is 'A', 'B' or 'none'. If saving fails (disk full, file locked), the
        answer is kept and saved together with the next one; the error is raised.
        """
        if self.done:
            raise ValueError("the test is finished: every pair has an answer.")
        if preference not in PREFERENCES:
            raise ValueError(f"answer 'A', 'B' or 'none' (no preference), got {preference!r}.")
        if int(confidence) != confidence or not 1 <= confidence <= 5:
            raise ValueError(f"confidence is 1 (a guess) to 5 (certain), got {confidence!r}.")
        t = self._queue.pop(0)
        preferred = {"A": t["system_a"], "B": t["system_b"]}.get(preference, "none")
        self._unsaved.append({
            "rater": self.rater, "session": self.session, **t, "preference": preference,
            "preferred_system": preferred, "confidence": int(confidence), "comment": comment,
            "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        })
        self.save_pending()

    def save_pending(self) -> None:
        """Save answers whose saving failed before (nothing to do when all are saved)."""
        if self._unsaved:
            save_answers(self.results_path, self._unsaved)
            self._unsaved = []

    @property
    def unsaved(self) -> int:
        """How many answers are waiting to be saved (0 normally)."""
        return len(self._unsaved)

    # -- the widget ---------------------------------------------------------------------------
    def widget(self):
        """The ipywidgets box (built once)."""
        if self._widget is None:
            self._build()
        return self._widget

    def _ipython_display_(self):  # pragma: no cover - notebook display
        from IPython.display import display

        display(self.widget())

    def _build(self):
        import ipywidgets as W

        self._heading = W.HTML()
        # HTML widgets, not Output widgets captured with `with out: display(...)`: nbclient (the
        # course site, nbconvert, tests/test_rerun.py) answers each captured output with a message
        # that can lose the wake-up for the cell's reply (see widgets.MusicControls._draw)
        self._player_a, self._player_b = W.HTML(), W.HTML()
        self._choice = W.ToggleButtons(options=[("A", "A"), ("B", "B"), ("no preference", "none")], value=None,
                                       description="Preferred:")
        self._confidence = W.ToggleButtons(options=[("1 guess", 1), ("2", 2), ("3", 3), ("4", 4), ("5 certain", 5)],
                                           value=3, description="How sure:")
        self._comment = W.Textarea(placeholder="optional comment (what made the difference?)",
                                   layout=W.Layout(width="32em", height="4em"))
        self._save = W.Button(description="Save and next", button_style="primary")
        self._message = W.Output()
        self._save.on_click(lambda _: self._on_save())
        players = W.HBox([W.VBox([W.HTML("<b>A</b>"), self._player_a]),
                          W.VBox([W.HTML("<b>B</b>"), self._player_b])])
        self._widget = W.VBox([self._heading, players, self._choice, self._confidence, self._comment,
                               self._save, self._message])
        self._show_current()

    def _show_current(self):
        from IPython.display import display

        from .audio import play

        self._player_a.value = self._player_b.value = ""
        if self.done:
            for w in (self._choice, self._confidence, self._comment):
                w.disabled = True
            if self._unsaved:
                self._heading.value = (f"<h4>All pairs answered, but {len(self._unsaved)} answer(s) are not saved "
                                       "yet: press Save to try again.</h4>")
                self._save.description = "Save"
            else:
                self._heading.value = f"<h4>Finished — thank you! Your answers are in {self.results_path}.</h4>"
                self._save.disabled = True
            return
        number = len(self._trials) - len(self._queue) + 1
        self._heading.value = f"<h4>Pair {number} of {len(self._trials)}: listen to both, then choose</h4>"
        a, b = self.current_pair()
        self._player_a.value = play(a)._repr_html_()
        self._player_b.value = play(b)._repr_html_()
        self._choice.value = None
        self._confidence.value = 3
        self._comment.value = ""

    def _on_save(self):
        from .widgets import show_message

        if self.done:  # only reachable when the last answers could not be saved
            action = self.save_pending
        elif self._choice.value is None:
            show_message(self._message, "Choose A, B or no preference first.", kind="info")
            return
        else:
            def action():
                self.answer(self._choice.value, self._confidence.value, self._comment.value)
        try:
            action()
        except (OSError, ValueError) as exc:
            show_message(self._message, f"Could not save to {self.results_path} ({exc}). Your answer is kept "
                         "and will be saved with the next one.", kind="error")
        else:
            self._message.outputs = ()
        self._show_current()
