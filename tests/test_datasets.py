"""The shipped datasets: they match music21's corpus, the builder reproduces them, splits are sound.

Lesson: 01_representation
"""

from __future__ import annotations

import hashlib
import re
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from musegen_helpers import datasets
from musegen_helpers import dataset_build
from musegen_helpers.config import DATA_DIR
from musegen_helpers.dataset_build import build
from musegen_helpers.datasets import (SPLITS, Dataset, from_midi_folder, load_chorales,
                                      load_melodies, skyline, split_of)
from musegen_helpers.midi_io import save_midi
from musegen_helpers.music import Note, Piece, melody
from musegen_helpers.representation import melody_to_tokens


@pytest.fixture(scope="module")
def melodies():
    return load_melodies()


@pytest.fixture(scope="module")
def chorales():
    return load_chorales()


@pytest.fixture(scope="module")
def small_build(tmp_path_factory):
    """The builder run on the first 3 tunes of each collection (a few seconds, one process)."""
    out = tmp_path_factory.mktemp("small")
    summary = build(out, limit=3, workers=1, progress=False)
    return out, summary


def _notes(piece):
    return [(n.pitch, n.start, n.duration, n.part) for n in piece.notes]


# ---------------------------------------------------------------------------------------
# Missing data
# ---------------------------------------------------------------------------------------
def test_missing_data_says_how_to_build(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"python -m musegen_helpers\.datasets build"):
        load_melodies(data_dir=tmp_path)
    with pytest.raises(FileNotFoundError, match="chorales-v1"):
        load_chorales(data_dir=tmp_path)


def test_wrong_version_is_refused(tmp_path, small_build):
    out, _ = small_build
    for name in ("melodies-v1.npz", "melodies-v1.json"):
        (tmp_path / name).write_bytes((out / name).read_bytes())
    text = (tmp_path / "melodies-v1.json").read_text(encoding="utf-8")
    (tmp_path / "melodies-v1.json").write_text(text.replace('"version": 1', '"version": 99'), encoding="utf-8")
    with pytest.raises(ValueError, match="rebuild"):
        load_melodies(data_dir=tmp_path)


def test_bad_arguments_are_explained():
    with pytest.raises(ValueError, match="essen"):
        load_melodies(collection="irish")
    with pytest.raises(ValueError, match="limit"):
        load_melodies(limit=0)
    with pytest.raises(ValueError, match="split"):
        Dataset(datasets._Store.from_pieces("x", [], [])).split("training")


# ---------------------------------------------------------------------------------------
# The builder
# ---------------------------------------------------------------------------------------
def test_small_build_equals_shipped_tunes(small_build, melodies, chorales):
    out, summary = small_build
    small_m = load_melodies(data_dir=out)
    small_c = load_chorales(data_dir=out)
    assert [m["collection"] for m in small_m.meta] == ["essen"] * 3 + ["oneill"] * 3
    assert small_c.report["counts"]["bach"]["source_tunes"] == 3
    compared = 0
    for small, full in ((small_m, melodies), (small_c, chorales)):
        full_meta = {m["id"]: m for m in full.meta}
        for piece, meta in zip(small, small.meta):
            if meta["id"] not in full_meta:  # dropped from the full build as a duplicate of a later file
                continue
            shipped = full[meta["id"]]
            assert _notes(piece) == _notes(shipped), meta["id"]
            assert (piece.pickup, piece.time_signature_changes) == (shipped.pickup, shipped.time_signature_changes)
            # chorale families join hymn tunes across the whole collection, so only those may differ
            skip = {"family", "split"} if meta["collection"] == "bach" else set()
            assert {k: v for k, v in meta.items() if k not in skip} == \
                {k: v for k, v in full_meta[meta["id"]].items() if k not in skip}
            compared += 1
    assert compared >= 7


def test_rebuild_is_byte_identical(tmp_path, small_build):
    out, _ = small_build
    build(tmp_path, limit=3, workers=1, progress=False, manifest=False)
    for name in ("melodies-v1.npz", "melodies-v1.json", "chorales-v1.npz", "chorales-v1.json"):
        assert (tmp_path / name).read_bytes() == (out / name).read_bytes(), name


def test_npz_loads_without_pickle(small_build):
    out, _ = small_build
    with np.load(out / "melodies-v1.npz", allow_pickle=False) as npz:
        assert {"pitch", "start", "duration", "note_offsets", "tokens_spq4"} <= set(npz.files)
        assert npz["start"].dtype == np.float64 and npz["pitch"].dtype == np.uint8


# ---------------------------------------------------------------------------------------
# Cached tunes equal music21's own parse of the source
# ---------------------------------------------------------------------------------------
def _music21_abc_notes(meta):
    """Parse one tune of a corpus ABC file the plain music21 way (with stripTies) — the reference."""
    from music21 import abcFormat
    from music21.abcFormat import translate

    m = re.fullmatch(r"music21 corpus (\S+) X:(\d+)", meta["source"])
    path = dataset_build._corpus_dir() / m.group(1)
    handler = abcFormat.ABCFile(abcVersion=(2, 1, 0)).readstr(path.read_text(encoding="utf-8"),
                                                              number=int(m.group(2)))
    from music21 import tie

    score = translate.abcToStreamScore(handler)
    if meta["repeats"] == "expanded":
        score = score.expandRepeats()
    part = score.parts[0]
    # Transcribers write slurs as ties ("G3-A"); music21's stripTies would swallow the A into the G.
    # A tie joins two notes only when they have the same pitch, so break the others first.
    sounding = [n for n in part.recurse().notes if n.duration.quarterLength > 0]
    for a, b in zip(sounding, sounding[1:]):
        if a.tie is not None and a.tie.type in ("start", "continue") and \
                max(p.midi for p in a.pitches) != max(p.midi for p in b.pitches):
            a.tie = None if a.tie.type == "start" else tie.Tie("stop")
            if b.tie is not None:
                b.tie = None if b.tie.type == "stop" else tie.Tie("start")
    flat = part.stripTies(inPlace=False).flatten()
    rest = meta.get("leading_rest", 0.0)
    out = []
    for n in flat.notes:
        if n.duration.quarterLength == 0:
            continue
        pitch = max(p.midi for p in n.pitches)
        out.append((pitch, float(Fraction(flat.elementOffset(n))) - rest, float(Fraction(n.duration.quarterLength))))
    return sorted(out, key=lambda n: (n[1], n[0]))


@pytest.mark.parametrize("what", ["pickup", "free meter", "repeats and grace notes", "triplets"])
def test_cached_tune_equals_music21_parse(melodies, what):
    pick = {
        "pickup": lambda m: m["collection"] == "essen" and m["pickup"] > 0,
        "free meter": lambda m: m["collection"] == "essen" and m["meter"] == "none",
        "repeats and grace notes": lambda m: m["repeats"] == "expanded" and m["grace_notes_dropped"] > 0,
        "triplets": lambda m: m["collection"] == "oneill",
    }[what]
    candidates = (i for i, m in enumerate(melodies.meta) if pick(m))
    if what == "triplets":  # the first O'Neill tune with notes off the 16th-note grid
        candidates = (i for i in candidates if any((n.duration * 4) % 1 for n in melodies[i].notes))
    piece = melodies[next(candidates)]
    cached = [(n.pitch, n.start, n.duration) for n in piece.notes]
    reference = _music21_abc_notes(piece.meta)
    assert len(cached) == len(reference)
    for (p, s, d), (rp, rs, rd) in zip(cached, reference):
        assert p == rp and s == pytest.approx(rs, abs=1e-9) and d == pytest.approx(rd, abs=1e-9)


def test_cached_chorale_equals_music21_parse(chorales):
    from music21 import converter

    piece = next(p for p in chorales if "chords_reduced" not in p.meta)
    score = converter.parse(str(dataset_build._corpus_dir() / piece.meta["source"].split()[-1]))
    for part, label in zip(score.parts, "SATB"):
        flat = part.stripTies(inPlace=False).flatten()
        reference = [(n.pitch.midi, float(flat.elementOffset(n)), float(n.duration.quarterLength))
                     for n in flat.notes if n.duration.quarterLength > 0]
        cached = [(n.pitch, n.start, n.duration) for n in piece.part(label).notes]
        assert cached == sorted(reference, key=lambda n: (n[1], n[0]))


def test_accidentals_carry_through_the_bar(melodies):
    # essen/altdeu10/2 ("Herzog Ernst", K: E) writes "=c2c2c2": all three Cs are natural (ABC rule);
    # music21's default ABC 1.3 reading would make the last two C#.
    piece = melodies["essen/altdeu10/2"]
    assert [n.pitch for n in piece.notes[8:11]] == [72, 72, 72]


# ---------------------------------------------------------------------------------------
# Contents
# ---------------------------------------------------------------------------------------
def test_melodies_are_one_voice_from_zero(melodies):
    store = melodies._store
    starts, ends = store.start, store.start + store.duration
    offsets = store.note_offsets
    assert np.all(starts[offsets[:-1]] == 0)  # upbeats start at 0 too
    owner = np.repeat(np.arange(len(store)), np.diff(offsets))
    same_piece = owner[1:] == owner[:-1]
    assert np.all(starts[1:][same_piece] >= ends[:-1][same_piece] - 1e-9)  # no overlaps: one voice
    assert len(melodies.split("train")) > 5000
    counts = {c: sum(m["collection"] == c for m in melodies.meta) for c in ("essen", "oneill")}
    assert counts["essen"] > 7500 and counts["oneill"] > 1500


def test_pickup_is_recorded(melodies):
    piece = melodies["essen/altdeu10/1"]  # Das Hildebrandslied: 4/2 with a half-note upbeat
    assert piece.pickup == 2.0 and piece.time_signature == (4, 2)
    assert piece.notes[0].start == 0 and piece.notes[1].start == 2.0
    # the upbeat is bar 0, beat 4 of 4/2 (half-note beats); bar 1 starts on the second note
    assert piece.bar_and_beat(0.0) == (0, 4.0) and piece.bars()[1].start == 2.0
    pickups = np.array([m["pickup"] for m in melodies.meta])
    assert (pickups > 0).mean() > 0.2 and (pickups >= 0).all()


def test_pieces_have_the_stored_pickup_as_their_typed_pickup(melodies, chorales):
    for ds in (melodies[::7], chorales):
        for meta, piece in zip(ds.meta, ds):
            assert piece.pickup == meta["pickup"], meta["id"]
            assert "pickup" not in piece.meta  # one place for it: a slice cannot leave a stale copy
    assert sum(m["pickup"] > 0 for m in melodies.meta[::7]) > 200


def test_chorale_meter_changes_are_typed_and_abc_ones_stay_in_meta(chorales, melodies):
    # BWV 362 turns from 4/4 to 3/4 at quarter 61 (after a one-beat upbeat and 15 bars of 4/4)
    piece = chorales["bach/bwv362"]
    assert piece.time_signature == (4, 4) and piece.time_signature_changes == [(61.0, (3, 4))]
    assert "meter_changes" not in piece.meta and chorales.meta[chorales.ids.index("bach/bwv362")]["meter_changes"]
    assert piece.bar_at(61.0) == (16, 61.0, 64.0, (3, 4)) and piece.bar_at(60.5).time_signature == (4, 4)
    # an ABC tune stores its changes without a position: kept in meta, not applied
    tune = melodies["oneill/0051-0100/89"]
    assert tune.meta["meter_changes"] == ["3/8", "3/4", "3/8", "3/4"]
    assert tune.time_signature == (3, 4) and tune.time_signature_changes == []


def test_chorales_have_four_parts_satb(chorales):
    assert 300 <= len(chorales) <= 400
    for piece in chorales[::25]:
        assert piece.parts == ["S", "A", "T", "B"]
        mean = {p: np.mean(piece.part(p).pitches) for p in "SATB"}
        assert mean["S"] > mean["A"] > mean["T"] > mean["B"]
        assert piece.tempo == 80 and piece.key is not None
    assert chorales["bach/bwv10.7"].key == "G minor"


def test_no_duplicates_even_transposed(melodies, chorales):
    for ds in (melodies, chorales):
        s = ds._store
        labels = s.part_labels
        prints = set()
        for i in range(len(s)):
            a, b = s.note_offsets[i], s.note_offsets[i + 1]
            fp = dataset_build._fingerprint(s.pitch[a:b].astype(int).tolist(), s.start[a:b].tolist(),
                                       s.duration[a:b].tolist(),
                                       [labels[k] if k >= 0 else None for k in s.part[a:b].tolist()])
            prints.add(fp)
        assert len(prints) == len(s)
    dropped = [d["reason"] for d in melodies.report["dropped"]]
    assert any("duplicate of" in r for r in dropped)


def test_fingerprint_ignores_transposition_not_rhythm():
    a = melody([60, 62, 64], [1, 1, 2])
    fp = lambda p: dataset_build._fingerprint(p.pitches, [n.start for n in p.notes], [n.duration for n in p.notes],
                                         [None] * len(p.notes))
    assert fp(a) == fp(a.transpose(5))
    assert fp(a) != fp(melody([60, 62, 64], [1, 1, 1]))
    assert fp(a) != fp(melody([60, 62, 65], [1, 1, 2]))


# ---------------------------------------------------------------------------------------
# Splits
# ---------------------------------------------------------------------------------------
def test_split_of_is_fixed():
    # the hash must never change: these families' splits are part of the published data
    families = ["essen:E0001", "essen:E0003", "essen:E0023", "oneill:5", "oneill:16", "midi:one"]
    assert [split_of(f) for f in families] == ["train", "valid", "test", "test", "valid", "valid"]
    families = [f"essen:K{i:04d}" for i in range(3000)]
    shares = [sum(split_of(f) == s for f in families) / len(families) for s in SPLITS]
    assert shares[0] == pytest.approx(0.8, abs=0.03) and shares[2] == pytest.approx(0.1, abs=0.02)


@pytest.mark.parametrize("which", ["melodies", "chorales"])
def test_splits_are_disjoint_stable_and_family_disjoint(which, melodies, chorales):
    ds = melodies if which == "melodies" else chorales
    parts = {s: set(ds.split(s).ids) for s in SPLITS}
    assert not (parts["train"] & parts["valid"]) and not (parts["train"] & parts["test"]) \
        and not (parts["valid"] & parts["test"])
    assert set().union(*parts.values()) == set(ds.ids)
    family_split = {}
    for m in ds.meta:
        assert m["split"] == split_of(m["family"])  # stable: a pure function of the family
        assert family_split.setdefault(m["family"], m["split"]) == m["split"]
    assert len(parts["train"]) > len(parts["valid"]) > 0 and len(parts["test"]) > 0


def test_essen_variants_share_a_family(melodies):
    variants = [m for m in melodies.meta if m["collection"] == "essen" and m.get("esac_id", "").startswith("A0004")]
    assert len(variants) >= 3
    assert {m["family"] for m in variants} == {"essen:A0004"} and len({m["split"] for m in variants}) == 1


def test_counts_and_checksums_match_manifest(melodies, chorales):
    text = (DATA_DIR / "MANIFEST.md").read_text(encoding="utf-8")
    for name, size, digest in re.findall(r"^\| `([\w.-]+)` \| (\d+) \| `([0-9a-f]{64})` \|$", text, re.M):
        data = (DATA_DIR / name).read_bytes()
        assert len(data) == int(size) and hashlib.sha256(data).hexdigest() == digest, name
    rows = re.findall(r"^\| (essen|oneill|bach) \| (\d+) \| (\d+) \| (\d+) \| (\d+) \| (\d+) \| (\d+) \|", text, re.M)
    assert {r[0] for r in rows} == {"essen", "oneill", "bach"}
    for coll, _source, kept, families, train, valid, test in rows:
        ds = load_chorales() if coll == "bach" else load_melodies(coll)
        meta = ds.meta
        assert len(meta) == int(kept)
        assert len({m["family"] for m in meta}) == int(families)
        assert [sum(m["split"] == s for m in meta) for s in SPLITS] == [int(train), int(valid), int(test)]


# ---------------------------------------------------------------------------------------
# Dataset behaviour
# ---------------------------------------------------------------------------------------
def test_tokens_equal_encoding_the_pieces(melodies, chorales):
    sample = melodies[::97]
    for piece, tokens in zip(sample, sample.tokens()):
        assert np.array_equal(tokens, melody_to_tokens(piece))
        assert tokens.dtype == np.int32
    for piece, tokens in zip(chorales[:5], chorales[:5].tokens()):
        assert np.array_equal(tokens, melody_to_tokens(piece))
    few = melodies[:10]
    for piece, tokens in zip(few, few.tokens(steps_per_quarter=3)):  # computed, not stored
        assert np.array_equal(tokens, melody_to_tokens(piece, 3))
    with pytest.raises(ValueError, match="read-only"):
        few.tokens()[0][0] = 60


def test_indexing_and_filters(melodies):
    oneill = load_melodies("oneill", limit=5)
    assert len(oneill) == 5 and {m["collection"] for m in oneill.meta} == {"oneill"}
    assert isinstance(melodies[:3], Dataset) and len(melodies[:3]) == 3
    assert _notes(melodies[-1]) == _notes(melodies[len(melodies) - 1])
    first = melodies.ids[0]
    assert _notes(melodies[first]) == _notes(melodies[0])
    with pytest.raises(IndexError, match="has"):
        melodies[len(melodies)]
    waltzes = melodies.filter(lambda m: m["meter"] == "3/4")
    assert len(waltzes) > 1000 and all(p.time_signature == (3, 4) for p in waltzes[:20])
    meta = melodies.meta[0]
    assert {"id", "title", "collection", "key", "meter", "bars", "family", "split", "pickup"} <= set(meta)
    assert "Dataset('melodies'" in repr(melodies)


# ---------------------------------------------------------------------------------------
# Your own MIDI files
# ---------------------------------------------------------------------------------------
def _song(title, tune_pitches):
    """A tune over low held chords, in two parts."""
    tune = [Note(p, i * 1.0, 1.0, 90, "tune") for i, p in enumerate(tune_pitches)]
    chords = [Note(p, bar * 4.0, 4.0, 60, "chords") for bar in range(len(tune_pitches) // 4) for p in (48, 52, 55)]
    return Piece(tune + chords, title=title)


def test_skyline_keeps_held_melody_over_chords():
    held = Piece([Note(72, 0, 4), Note(48, 0, 1), Note(50, 1, 1), Note(52, 2, 1), Note(74, 4, 1), Note(40, 6, 1)])
    top = skyline(held)
    assert [(n.pitch, n.start, n.duration) for n in top.notes] == [(72, 0, 4), (74, 4, 1), (40, 6, 1)]
    cut = skyline(Piece([Note(60, 0, 4), Note(67, 2, 1)]))  # a higher note cuts the held one
    assert [(n.pitch, n.start, n.duration) for n in cut.notes] == [(60, 0, 2), (67, 2, 1)]


def test_from_midi_folder_reads_tunes_and_skips_bad_files(tmp_path):
    save_midi(_song("one", [72, 74, 76, 77, 79, 77, 76, 74]), tmp_path / "one.mid")
    (tmp_path / "sub").mkdir()
    save_midi(_song("two", [67, 69, 71, 72]), tmp_path / "sub" / "two.midi")
    (tmp_path / "broken.mid").write_bytes(b"MThd\x00\x00\x00\x06\x00\x01\x00\x02\x01\xe0MTrk\x00\x00\x01\x00\x90")
    (tmp_path / "empty.mid").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("not music")  # not a MIDI name: ignored, not skipped
    ds = from_midi_folder(tmp_path, progress=False, verbose=False)
    assert ds.ids == ["one.mid", "sub/two.midi"]
    assert [p.pitches for p in ds] == [[72, 74, 76, 77, 79, 77, 76, 74], [67, 69, 71, 72]]
    reasons = dict(ds.skipped)
    assert set(reasons) == {"broken.mid", "empty.mid"}
    assert "truncated" in reasons["broken.mid"] or "corrupt" in reasons["broken.mid"]
    assert "empty" in reasons["empty.mid"]
    for piece, tokens in zip(ds, ds.tokens()):
        assert np.array_equal(tokens, melody_to_tokens(piece))
    assert [m["split"] for m in ds.meta] == [split_of("midi:one"), split_of("midi:sub/two")]
    again = from_midi_folder(tmp_path, progress=False, verbose=False)
    assert [m["split"] for m in again.meta] == [m["split"] for m in ds.meta]


def test_from_midi_folder_track_choice(tmp_path, capsys):
    save_midi(_song("one", [72, 74, 76, 77]), tmp_path / "one.mid")
    # save_midi writes a conductor track 0, then one track per part in order of first note:
    # the chords (C3 sorts before C5 at beat 0) are track 1, the tune track 2
    chords = from_midi_folder(tmp_path, melody="track:1", progress=False, verbose=False)
    assert chords[0].pitches == [55]  # the top of the held C major chord
    tune = from_midi_folder(tmp_path, melody="track:2", progress=False, verbose=False)
    assert tune[0].pitches == [72, 74, 76, 77]
    missing = from_midi_folder(tmp_path, melody="track:9", progress=False, verbose=True)
    assert len(missing) == 0 and "no track 9" in missing.skipped[0][1]
    assert "skipped one.mid" in capsys.readouterr().out
    with pytest.raises(ValueError, match="skyline"):
        from_midi_folder(tmp_path, melody="loudest")


def test_from_midi_folder_explains_bad_folders(tmp_path):
    from musegen_helpers.errors import MusicFileError

    with pytest.raises(MusicFileError, match="no such folder"):
        from_midi_folder(tmp_path / "nope")
    with pytest.raises(MusicFileError, match="no .mid"):
        from_midi_folder(tmp_path)
