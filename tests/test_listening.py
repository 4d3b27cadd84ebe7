"""The blind A/B listening test: the plan, crash-safe saving, merging, statistics, the widget."""

from __future__ import annotations

import csv
import math
import os
from collections import Counter

import pytest
from scipy.stats import binomtest

from musegen_helpers import listening as L
from musegen_helpers.music import melody

SYSTEMS = {
    "LSTM": [melody([60, 62], 0.25), melody([64, 65], 0.25)],
    "n-gram": [melody([67, 69], 0.25)],
    "Bach": [melody([72, 71], 0.25), melody([69, 67], 0.25), melody([65, 64], 0.25)],
}


def answer(trial, a, b, preference, rater="ada", confidence=3, comment="", time="2025-01-01T00:00:00+00:00"):
    preferred = {"A": a, "B": b}.get(preference, "none")
    return {"rater": rater, "session": "s", "trial": trial, "system_a": a, "index_a": 0, "system_b": b,
            "index_b": 0, "preference": preference, "preferred_system": preferred, "confidence": confidence,
            "comment": comment, "time": time}


# ---- the plan ---------------------------------------------------------------------------
def test_plan_is_seeded_balanced_and_never_pits_a_system_against_itself():
    plan = L.make_trials(SYSTEMS, 30, seed=4)
    assert plan == L.make_trials(SYSTEMS, 30, seed=4)
    assert plan != L.make_trials(SYSTEMS, 30, seed=5)
    pairs = Counter(frozenset((t["system_a"], t["system_b"])) for t in plan)
    assert len(pairs) == 3 and set(pairs.values()) == {10}
    assert all(t["system_a"] != t["system_b"] for t in plan)
    assert {t["system_a"] for t in plan} == set(SYSTEMS)  # every system is sometimes "A"
    for t in plan:
        assert 0 <= t["index_a"] < len(SYSTEMS[t["system_a"]]) and 0 <= t["index_b"] < len(SYSTEMS[t["system_b"]])
    assert [t["trial"] for t in plan] == list(range(1, 31))


def test_plan_needs_two_systems_with_excerpts():
    with pytest.raises(ValueError, match="at least 2 systems"):
        L.make_trials({"LSTM": SYSTEMS["LSTM"]}, 5)
    with pytest.raises(ValueError, match="no excerpts"):
        L.make_trials({"LSTM": SYSTEMS["LSTM"], "GAN": []}, 5)


# ---- saving -------------------------------------------------------------------------------
def test_answers_round_trip_through_the_csv_with_awkward_comments(tmp_path):
    path = tmp_path / "results.csv"
    rows = [answer(1, "LSTM", "Bach", "B", comment='too "busy", and\nthe ending — abrupt'),
            answer(2, "n-gram", "LSTM", "none", confidence=1)]
    L.save_answers(path, rows[:1])
    L.save_answers(path, rows[1:])
    back = L.read_results(path)
    assert [r["comment"] for r in back] == [rows[0]["comment"], ""]
    assert back[1]["confidence"] == 1 and back[1]["trial"] == 2
    assert back == [dict(r) for r in rows]


def test_a_failed_rename_leaves_the_old_file_intact_and_the_next_save_keeps_everything(tmp_path, monkeypatch):
    path = tmp_path / "results.csv"
    L.save_answers(path, [answer(1, "LSTM", "Bach", "A")])
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise OSError("simulated crash during os.replace")

    monkeypatch.setattr(os, "replace", crash)
    pending = [answer(2, "Bach", "n-gram", "B")]
    with pytest.raises(OSError, match="simulated"):
        L.save_answers(path, pending)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["results.csv"]  # no temporary file left behind
    monkeypatch.undo()
    L.save_answers(path, pending + [answer(3, "LSTM", "n-gram", "A")])
    assert [r["trial"] for r in L.read_results(path)] == [1, 2, 3]


def test_a_write_cut_off_midway_leaves_the_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "results.csv"
    L.save_answers(path, [answer(1, "LSTM", "Bach", "A"), answer(2, "LSTM", "Bach", "B")])
    before = path.read_bytes()
    real_writerow = csv.DictWriter.writerow
    calls = {"n": 0}

    def writerow_then_crash(self, row):
        calls["n"] += 1
        if calls["n"] == 3:  # header, row 1, then the crash on row 2
            raise OSError("simulated crash while writing")
        return real_writerow(self, row)

    monkeypatch.setattr(csv.DictWriter, "writerow", writerow_then_crash)
    monkeypatch.setattr(csv.DictWriter, "writerows", lambda self, rows: [self.writerow(r) for r in rows])
    with pytest.raises(OSError, match="simulated"):
        L.save_answers(path, [answer(3, "n-gram", "Bach", "A")])
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["results.csv"]


def test_saving_refuses_to_overwrite_a_file_that_is_not_a_results_file(tmp_path):
    path = tmp_path / "notes.csv"
    path.write_text("name,grade\nada,A\n")
    with pytest.raises(ValueError, match="not a listening-test results file"):
        L.save_answers(path, [answer(1, "LSTM", "Bach", "A")])
    assert path.read_text() == "name,grade\nada,A\n"


def test_saving_rejects_a_malformed_answer(tmp_path):
    with pytest.raises(ValueError, match="preference"):
        L.save_answers(tmp_path / "r.csv", [answer(1, "LSTM", "Bach", "maybe")])
    with pytest.raises(ValueError, match="confidence"):
        L.save_answers(tmp_path / "r.csv", [answer(1, "LSTM", "Bach", "A", confidence=9)])
    assert not (tmp_path / "r.csv").exists()


def test_merge_keeps_each_answer_once(tmp_path):
    ada = [answer(1, "LSTM", "Bach", "B"), answer(2, "n-gram", "Bach", "B")]
    bob = [answer(1, "LSTM", "Bach", "B", rater="bob")]
    L.save_answers(tmp_path / "ada.csv", ada)
    L.save_answers(tmp_path / "ada_copy.csv", ada)  # handed in twice
    L.save_answers(tmp_path / "bob.csv", bob)
    merged = L.merge_results([tmp_path / "ada.csv", tmp_path / "ada_copy.csv", tmp_path / "bob.csv"])
    assert [(r["rater"], r["trial"]) for r in merged] == [("ada", 1), ("ada", 2), ("bob", 1)]
    with pytest.raises(FileNotFoundError, match="no results file"):
        L.merge_results([tmp_path / "missing.csv"])


# ---- statistics -------------------------------------------------------------------------
@pytest.mark.parametrize("wins, losses", [(0, 0), (8, 2), (2, 8), (5, 5), (0, 7), (17, 3), (30, 21), (1, 0)])
def test_sign_test_equals_scipy_binomtest(wins, losses):
    expected = 1.0 if wins + losses == 0 else binomtest(wins, wins + losses, 0.5).pvalue
    assert L.sign_test(wins, losses) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("k, n", [(0, 5), (5, 5), (8, 10), (3, 17), (50, 120)])
@pytest.mark.parametrize("confidence", [0.95, 0.8])
def test_wilson_interval_equals_scipy(k, n, confidence):
    ci = binomtest(k, n).proportion_ci(confidence_level=confidence, method="wilson")
    low, high = L.wilson_interval(k, n, confidence)
    assert low == pytest.approx(ci.low, abs=1e-12) and high == pytest.approx(ci.high, abs=1e-12)


def test_analyse_counts_wins_leaves_ties_out_and_tests_against_chance():
    rows = ([answer(i, "LSTM", "Bach", "B") for i in range(8)]
            + [answer(i, "Bach", "LSTM", "B") for i in range(8, 10)]   # LSTM wins twice, as B
            + [answer(10, "LSTM", "Bach", "none")]
            + [answer(i, "n-gram", "LSTM", "B", rater="bob") for i in range(11, 14)])
    result = L.analyse(rows)
    bach = result.systems.row("Bach")
    assert (bach["wins"], bach["losses"], bach["ties"], bach["comparisons"]) == (8, 2, 1, 11)
    assert bach["win_rate"] == pytest.approx(0.8)
    assert bach["p_value"] == pytest.approx(binomtest(8, 10).pvalue)
    ci = binomtest(8, 10).proportion_ci(method="wilson")
    assert (bach["ci_low"], bach["ci_high"]) == (pytest.approx(ci.low), pytest.approx(ci.high))
    lstm = result.systems.row("LSTM")
    assert (lstm["wins"], lstm["losses"]) == (5, 8)
    head = result.pairs.row("Bach", "system_1")
    assert (head["system_2"], head["wins_1"], head["wins_2"], head["ties"]) == ("LSTM", 8, 2, 1)
    assert result.n_answers == 14 and result.n_raters == 2
    assert "Bach" in repr(result) and "<table>" in result._repr_html_()


def test_analyse_without_answers_says_what_to_do():
    with pytest.raises(ValueError, match="no answers"):
        L.analyse([])


def test_plot_results_draws_a_bar_per_system():
    import matplotlib.pyplot as plt

    rows = [answer(i, "LSTM", "Bach", "B") for i in range(6)] + [answer(6, "LSTM", "Bach", "A")]
    fig, ax = L.plot_results(L.analyse(rows))
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Bach", "LSTM"]  # the winner on top
    assert len(ax.patches) == 2
    plt.close("all")


# ---- the widget -------------------------------------------------------------------------
def visible_text(widget) -> str:
    """All text a listener can read in the widget (HTML, labels, button and option names)."""
    parts = []
    for attr in ("value", "description", "placeholder"):
        v = getattr(widget, attr, None)
        if isinstance(v, str):
            parts.append(v)
    parts += [str(o) for o in getattr(widget, "options", ())]
    for child in getattr(widget, "children", ()):
        parts.append(visible_text(child))
    return " ".join(parts)


def test_widget_hides_system_names_and_saves_each_answer(tmp_path):
    path = tmp_path / "ada.csv"
    test = L.ListeningTest(SYSTEMS, path, rater="ada", n_trials=3, seed=2)
    box = test.widget()
    text = visible_text(box)
    assert "Pair 1 of 3" in text
    for name in SYSTEMS:
        assert name not in text
    test._save.click()  # nothing chosen yet: nothing saved
    assert not path.exists()
    test._choice.value = "A"
    test._confidence.value = 5
    test._comment.value = "A sounds like a real tune"
    test._save.click()
    rows = L.read_results(path)
    assert len(rows) == 1 and rows[0]["preference"] == "A" and rows[0]["confidence"] == 5
    plan = L.make_trials(SYSTEMS, 3, seed=2)
    assert rows[0]["preferred_system"] == plan[0]["system_a"]
    assert "Pair 2 of 3" in visible_text(box)


def test_widget_resumes_where_the_listener_stopped(tmp_path):
    path = tmp_path / "ada.csv"
    first = L.ListeningTest(SYSTEMS, path, rater="ada", n_trials=4, seed=1)
    first.answer("A", 4)
    first.answer("none", 2)
    again = L.ListeningTest(SYSTEMS, path, rater="ada", n_trials=4, seed=1)
    assert again.remaining == 2
    other_rater = L.ListeningTest(SYSTEMS, path, rater="bob", n_trials=4, seed=1)
    assert other_rater.remaining == 4


def test_widget_keeps_an_answer_it_could_not_save_and_saves_it_next_time(tmp_path, monkeypatch):
    path = tmp_path / "ada.csv"
    test = L.ListeningTest(SYSTEMS, path, rater="ada", n_trials=3, seed=0)
    test.answer("B", 3)
    real_replace = os.replace

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        test.answer("A", 2)
    assert test.unsaved == 1 and len(L.read_results(path)) == 1
    monkeypatch.setattr(os, "replace", real_replace)
    test.answer("none", 1)
    assert test.unsaved == 0 and test.done
    assert [r["preference"] for r in L.read_results(path)] == ["B", "A", "none"]
    with pytest.raises(ValueError, match="finished"):
        test.answer("A")


def test_each_rater_gets_their_own_order_unless_a_seed_is_given(tmp_path):
    ada = L.ListeningTest(SYSTEMS, tmp_path / "a.csv", rater="ada", n_trials=12)
    ada_again = L.ListeningTest(SYSTEMS, tmp_path / "a2.csv", rater="ada", n_trials=12)
    bob = L.ListeningTest(SYSTEMS, tmp_path / "b.csv", rater="bob", n_trials=12)
    assert ada._trials == ada_again._trials
    assert ada._trials != bob._trials
    fixed = [L.ListeningTest(SYSTEMS, tmp_path / f"{r}.csv", rater=r, n_trials=12, seed=3)._trials
             for r in ("ada", "bob")]
    assert fixed[0] == fixed[1]
