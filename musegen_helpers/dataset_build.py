"""Building the course datasets: music21's corpus -> ``datasets/*.npz`` + ``*.json`` + ``MANIFEST.md``.

``python -m musegen_helpers.datasets build`` (or ``python -m musegen_helpers.dataset_build build``)
parses the Essen and O'Neill folk tunes (ABC, through :func:`musegen_helpers.score_io.parse_abc`, the
one ABC reader of the package) and the Bach chorales, drops what cannot be a training tune (with the
reason), deduplicates, assigns the train/valid/test split by family, and writes the files with a
SHA-256 for each in the MANIFEST. Loading what it wrote is :mod:`musegen_helpers.datasets`'s job.

Lesson: 01_representation (the data of every lesson)
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import re
import sys
import time
import warnings
import zipfile
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from typing import Sequence

import numpy as np

from .config import DATA_DIR
from .datasets import (BUILD_COMMAND, CACHED_STEPS_PER_QUARTER, CHORALE_PARTS, CHORALE_TEMPO, CHORALES_STEM,
                       FORMAT_VERSION, MELODIES_STEM, MELODY_COLLECTIONS, MELODY_TEMPO, SPLITS,
                       check_limit, split_of)
from .music import PITCH_CLASS_NAMES, Note, Piece, parse_key
from .files import atomic_write
from .representation import melody_to_tokens
from .score_io import parse_abc, read_abc_tunes

__all__ = ["build", "main"]

_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed time stamp inside .npz files, so rebuilds are identical


# =======================================================================================
# Builder: music21 corpus -> datasets/*.npz + *.json + MANIFEST.md
# =======================================================================================
def _corpus_dir() -> Path:
    import music21
    return Path(music21.__file__).resolve().parent / "corpus"


def _abc_tunes(path: Path) -> list[tuple[str, dict, str]]:
    """Split an ABC file into tunes: ``(X number as written, header fields, text)`` in file order,
    with :func:`~musegen_helpers.score_io.read_abc_tunes` (the package's one ABC reading).

    Header fields keep the first value of each letter (e.g. the first ``N:`` line, which in the
    Essen files is the tune's EsAC id such as 'E0001A'). The text includes the file header, if any.
    """
    return [(t.fields.get("X", "").strip(), t.fields, t.abc)
            for t in read_abc_tunes(path.read_text(encoding="utf-8")) if t.text.startswith("X:")]


def _melody_tasks(limit: int | None) -> list[dict]:
    corpus = _corpus_dir()
    tasks = []
    for collection, folder in (("essen", "essenFolksong"), ("oneill", "oneills1850")):
        n = 0
        for path in sorted((corpus / folder).glob("*.abc"), key=lambda p: p.name):
            for position, (x, fields, text) in enumerate(_abc_tunes(path)):
                if limit is not None and n >= limit:
                    break
                tasks.append({"kind": "abc", "collection": collection, "file": f"{folder}/{path.name}",
                              "stem": path.stem, "x": x, "position": position, "fields": fields, "text": text})
                n += 1
    return tasks


def _chorale_tasks(limit: int | None) -> list[dict]:
    folder = _corpus_dir() / "bach"
    files = sorted((p for p in folder.iterdir() if p.suffix in (".mxl", ".xml", ".krn")),
                   key=lambda p: p.name)
    if limit is not None:
        files = files[:limit]
    return [{"kind": "chorale", "collection": "bach", "file": f"bach/{p.name}", "stem": p.stem}
            for p in files]


def _key_name(tonic_pc: int, mode: str | None) -> str | None:
    name = f"{PITCH_CLASS_NAMES[tonic_pc % 12]} {mode or 'major'}"
    try:
        parse_key(name)
    except ValueError:
        return None
    return name


def _mode_from_third(tonic_pc: int, pitches: Sequence[int], durations: Sequence[float]) -> str:
    """'minor' when the minor third above the tonic sounds longer than the major third, else 'major'."""
    minor = sum(d for p, d in zip(pitches, durations) if (p - tonic_pc) % 12 == 3)
    major = sum(d for p, d in zip(pitches, durations) if (p - tonic_pc) % 12 == 4)
    return "minor" if minor > major else "major"


def _part_notes(part, choose: str = "highest"):
    """Notes of one music21 part: ``(pitches, starts, durations, grace notes dropped, chords reduced)``.

    Tied notes become one note; grace notes (no duration) are dropped and counted; a chord in a
    one-voice part keeps its highest (or lowest) note. Starts and durations are exact music21
    offsets turned into floats (a triplet eighth is 1/3 quarter note, as close as a float gets).
    Merging ties here, not with music21's ``stripTies``, makes the build several times faster
    (``stripTies`` re-beams the whole part); a test checks both give the same notes.
    """
    from music21 import chord as m21chord

    flat = part.flatten()
    pitches: list[int] = []
    starts: list[float] = []
    durs: list[float] = []
    open_tie: dict[int, int] = {}  # MIDI pitch -> index of the note a tie continues
    graces = chords = 0
    for el in flat.notes:
        ql = Fraction(el.duration.quarterLength)
        if el.duration.isGrace or ql == 0:
            graces += 1
            continue
        if isinstance(el, m21chord.Chord):
            chords += 1
            chosen = sorted(el.notes, key=lambda n: n.pitch.midi)[-1 if choose == "highest" else 0]
            midi, tie = chosen.pitch.midi, chosen.tie or el.tie
        else:
            midi, tie = el.pitch.midi, el.tie
        if not 0 <= midi <= 127:
            continue
        start = Fraction(flat.elementOffset(el))
        kind = tie.type if tie is not None else None
        i = open_tie.pop(midi, None)
        if i is not None and kind in ("stop", "continue") and abs(starts[i] + durs[i] - start) < 1e-9:
            durs[i] = start + ql - starts[i]  # the tied note goes on
        else:
            i = len(pitches)
            pitches.append(int(midi))
            starts.append(start)
            durs.append(ql)
        if kind in ("start", "continue"):
            open_tie[midi] = i
    return pitches, [float(x) for x in starts], [float(x) for x in durs], graces, chords


def _meter_info(part) -> tuple[list[int] | None, list]:
    """First time signature of a part and its later changes ``[[offset, "3/4"], ...]``, bar by bar.

    Read from the measures, not a flattened stream: music21 may put one TimeSignature object in
    several measures, and a flattened stream keeps only one of them.
    """
    from music21 import stream
    first, changes, last = None, [], None
    for m in part.getElementsByClass(stream.Measure):
        ts = m.timeSignature
        if ts is None:
            continue
        if first is None:
            first, last = [int(ts.numerator), int(ts.denominator)], ts.ratioString
        elif ts.ratioString != last:
            changes.append([float(Fraction(m.offset)), ts.ratioString])
            last = ts.ratioString
    return first, changes


def _abc_meter(value: str | None) -> list[int] | None:
    """An ABC ``M:`` value as [beats, beat unit]: '3/4' -> [3, 4], 'C' -> [4, 4], 'C|' -> [2, 2];
    None for 'none' (free meter) or anything else."""
    v = (value or "").strip()
    if v == "C":
        return [4, 4]
    if v == "C|":
        return [2, 2]
    m = re.match(r"(\d+)\s*/\s*(\d+)\b", v)  # also '2/2]', a stray bracket in one O'Neill tune
    return [int(m.group(1)), int(m.group(2))] if m else None


def _abc_body_meters(text: str, first: str | None) -> list[str]:
    """Meter changes written in the body of an ABC tune (``M:`` lines after ``K:``, or inline
    ``[M:3/4]``), in order, leaving out any that repeat the meter already in force."""
    body = text.split("\nK:", 1)[1].split("\n", 1)[-1] if "\nK:" in text else ""
    changes, current = [], (first or "").strip()
    for m in re.finditer(r"(?m)^M:\s*([^\n%]*?)\s*$|\[M:\s*([^\]]+?)\s*\]", body):
        meter = (m.group(1) or m.group(2) or "").strip()
        if meter and meter != current:
            changes.append(meter)
            current = meter
    return changes


def _bars(end: float, pickup: float, time_signature: Sequence[int]) -> int:
    """Bars of the (first) meter that the music after the upbeat reaches into, counting the last
    partly filled one."""
    bar = time_signature[0] * 4.0 / time_signature[1]
    return max(0, int(np.ceil((end - pickup) / bar - 1e-9)))


def _pickup(part) -> float:
    """Length in quarter notes of an incomplete first bar (an upbeat), 0 when the first bar is full."""
    from music21 import stream
    measures = list(part.getElementsByClass(stream.Measure))
    if not measures:
        return 0.0
    m0 = measures[0]
    if m0.paddingLeft and m0.paddingLeft > 0:
        return float(Fraction(m0.duration.quarterLength))
    return 0.0


def _has_repeats(score) -> bool:
    from music21 import bar, spanner
    if any(True for _ in score.recurse().getElementsByClass(bar.Repeat)):
        return True
    return any(True for _ in score.recurse().getElementsByClass(spanner.RepeatBracket)) or \
        bool(score.spannerBundle.getByClass(spanner.RepeatBracket))


def _start_at_zero(notes: list[Note], pickup: float, time_signature: Sequence[int]) -> tuple[list[Note], float, float]:
    """Move a tune that opens with a rest so that its first note is at 0, as every tune is.

    Returns ``(notes, pickup, rest)``: the first bar line, which lay ``pickup`` quarter notes in
    (or one bar in, without an upbeat), now lies ``rest`` earlier, so the tune has an upbeat of
    that length (0 when the bar line falls on the first note).
    """
    rest = min((n.start for n in notes), default=0.0)
    if rest <= 0:
        return notes, pickup, 0.0
    bar = time_signature[0] * 4.0 / time_signature[1]
    first_bar_line = pickup if pickup > 0 else bar
    new_pickup = (first_bar_line - rest) % bar
    if abs(new_pickup) < 1e-9 or abs(new_pickup - bar) < 1e-9:
        new_pickup = 0.0
    return [replace(n, start=n.start - rest) for n in notes], float(new_pickup), float(rest)


def _fingerprint(pitches, starts, durations, parts) -> str:
    """Hash of the music up to transposition: parts, pitches relative to the first, rhythm."""
    ref = pitches[0] if pitches else 0
    h = hashlib.sha1()
    for p, s, d, k in zip(pitches, starts, durations, parts):
        h.update(f"{k}|{p - ref}|{s:.6f}|{d:.6f};".encode())
    return h.hexdigest()


def _finish(task: dict, notes: list[Note], meta: dict) -> dict:
    """Build the Piece (this sorts the notes), its tokens and its fingerprint."""
    ts = tuple(meta["time_signature"])
    piece = Piece(notes, tempo=meta["tempo"], time_signature=ts, key=meta["key"], title=meta["title"],
                  source=meta["source"], meta=meta)
    ordered = piece.notes
    tokens = melody_to_tokens(piece, CACHED_STEPS_PER_QUARTER)
    if tokens.size and (tokens.min() < 0 or tokens.max() > 255):
        raise ValueError("token out of the uint8 range")
    return {
        "status": "ok", "id": meta["id"], "meta": meta,
        "pitch": [n.pitch for n in ordered], "start": [n.start for n in ordered],
        "duration": [n.duration for n in ordered], "part": [n.part for n in ordered],
        "tokens": tokens.astype(np.uint8),
        "fingerprint": _fingerprint([n.pitch for n in ordered], [n.start for n in ordered],
                                    [n.duration for n in ordered], [n.part for n in ordered]),
    }


def _process_abc(task: dict) -> dict:
    from music21 import key as m21key, stream, tempo as m21tempo

    collection, fields = task["collection"], task["fields"]
    tid = f"{collection}/{task['stem']}/{task['x'] or task['position'] + 1}"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # the package's one ABC reading: ABC 2.1 (accidentals carry through the bar, as these
            # transcriptions, e.g. Essen's "=c2c2c2", expect) and fields changed mid-tune; beams
            # are skipped (notation only, and most of music21's ABC time)
            score = parse_abc(task["text"], beams=False)
            if isinstance(score, stream.Opus):
                score = score.scores[0]
            parts = list(score.parts) or [score]
            extra = {}
            if len(parts) > 1:
                extra["voices_dropped"] = len(parts) - 1  # keep the tune, leave out added voices
            pickup = _pickup(parts[0])
            repeats = "none"
            if _has_repeats(score):
                try:
                    score = score.expandRepeats()
                    repeats = "expanded"
                except Exception as exc:  # music21 cannot untangle some repeat structures
                    repeats = f"not expanded ({type(exc).__name__})"
            part = (list(score.parts) or [score])[0]
            pitches, starts, durs, graces, chords = _part_notes(part, "highest")
            flat = part.flatten()
            keys = list(flat.getElementsByClass(m21key.Key))
            marks = [m for m in flat.getElementsByClass(m21tempo.MetronomeMark) if m.number]
            tempo = float(marks[0].getQuarterBPM()) if marks else MELODY_TEMPO
            title = (score.metadata.title if score.metadata is not None and score.metadata.title else "") \
                or fields.get("T", "") or tid
    except Exception as exc:
        return {"status": "dropped", "id": tid, "reason": f"music21 could not parse it ({type(exc).__name__})"}
    if not pitches:
        return {"status": "dropped", "id": tid, "reason": "no notes"}
    # The meter is the M: field as written. music21's own time signatures are no guide here: where
    # a line of a tune ends without a bar line it splits the bar and invents a meter (1/4, 1/8).
    ts = _abc_meter(fields.get("M"))
    if ts is not None and ts[1] not in (1, 2, 4, 8, 16, 32):
        ts = None
    if fields.get("M") and fields["M"].lower() != "none" and (ts is None or fields["M"] != f"{ts[0]}/{ts[1]}"):
        extra["meter_as_written"] = fields["M"]
    meter_changes = _abc_body_meters(task["text"], fields.get("M"))
    if collection == "essen":
        # The Essen K: field names the tonic (the final), not a key signature; accidentals are
        # written out. So the mode is not given: call it minor when the minor third dominates.
        if keys:
            tonic = keys[0].tonic.pitchClass
            key = _key_name(tonic, _mode_from_third(tonic, pitches, durs))
        else:
            key = None
        family_id = re.sub(r"(?<=\d)[A-Z]+$", "", fields.get("N", "").split()[0]) if fields.get("N") else ""
        family = f"essen:{family_id}" if family_id else f"essen:{tid}"
        extra.update({"esac_id": fields.get("N", "").split()[0] if fields.get("N") else None,
                      "region": fields.get("O"), "genre": fields.get("R")})
    else:
        key = _key_name(keys[0].tonic.pitchClass, keys[0].mode) if keys else None
        number = task["x"]
        family = f"oneill:{number}"
        extra.update({"oneill_number": int(number) if number.isdigit() else number,
                      "rhythm": fields.get("R")})
    notes = [Note(p, s, d) for p, s, d in zip(pitches, starts, durs)]
    notes, pickup, rest = _start_at_zero(notes, pickup, ts or [4, 4])
    if rest:
        extra["leading_rest"] = rest  # quarter notes of silence removed before the first note
    meta = {
        "id": tid, "title": title, "collection": collection, "key": key,
        "meter": f"{ts[0]}/{ts[1]}" if ts else "none",
        "bars": _bars(max(n.end for n in notes), pickup, ts or [4, 4]), "family": family,
        "split": split_of(family), "pickup": pickup, "tempo": tempo,
        "time_signature": ts or [4, 4], "source": f"music21 corpus {task['file']} X:{task['x']}",
        "grace_notes_dropped": graces, "repeats": repeats,
    }
    if meter_changes:
        meta["meter_changes"] = meter_changes
    if chords:
        meta["chords_reduced"] = chords
    meta.update({k: v for k, v in extra.items() if v is not None})
    return _finish(task, notes, meta)


_VOICE_WORDS = {"soprano": "S", "s": "S", "cantus": "S", "discantus": "S", "alto": "A", "a": "A",
                "altus": "A", "tenor": "T", "t": "T", "bass": "B", "b": "B", "bassus": "B"}


def _voice_label(name: str | None) -> str | None:
    if not name:
        return None
    word = re.split(r"[\s.\d]+", str(name).strip().lower())[0]
    return _VOICE_WORDS.get(word)


def _chorale_catalogue() -> tuple[dict, dict]:
    """Titles by BWV number, and Riemenschneider numbers by file name, from music21's lists."""
    from music21.corpus import chorales
    titles = {str(k): v["title"] for k, v in chorales.ChoraleListRKBWV().byBWV.items()}
    riemenschneider: dict[str, int] = {}
    for number, entry in sorted(chorales.ChoraleListRKBWV().byRiemenschneider.items()):
        riemenschneider.setdefault(str(entry["bwv"]), int(number))
    return titles, riemenschneider


def _process_chorale(task: dict) -> dict:
    from music21 import converter, key as m21key

    tid = f"bach/{task['stem']}"
    path = _corpus_dir() / task["file"]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            score = converter.parse(str(path), forceSource=True)
            parts = list(score.parts)
            if len(parts) != 4:
                names = ", ".join(str(p.partName or p.id) for p in parts).replace("\r", " ")
                return {"status": "dropped", "id": tid,
                        "reason": f"{len(parts)} parts ({names}); only four-part vocal scores are kept"}
            labels = [_voice_label(p.partName) or _voice_label(p.id if isinstance(p.id, str) else None)
                      for p in parts]
            mapped_by = "part names"
            if sorted(filter(None, labels)) != sorted(CHORALE_PARTS) or None in labels:
                # no usable names (e.g. Humdrum spines): highest average pitch is the soprano
                means = []
                for p in parts:
                    ps = [n.pitch.midi for n in p.flatten().getElementsByClass("Note")]
                    means.append(sum(ps) / len(ps) if ps else 0)
                order = sorted(range(4), key=lambda i: -means[i])
                labels = [None] * 4
                for rank, i in enumerate(order):
                    labels[i] = CHORALE_PARTS[rank]
                mapped_by = "average pitch"
            notes, graces, chords = [], 0, 0
            by_label = {}
            for p, lab in zip(parts, labels):
                ps, ss, ds, g, c = _part_notes(p, "highest" if lab in ("S", "A") else "lowest")
                graces += g
                chords += c
                by_label[lab] = (ps, ss, ds)
                notes += [Note(a, b, d, 80, lab) for a, b, d in zip(ps, ss, ds)]
            soprano = parts[labels.index("S")]
            pickup = _pickup(soprano)
            ts, meter_changes = _meter_info(soprano)
            keys = list(soprano.flatten().getElementsByClass(m21key.KeySignature))
            repeats = _has_repeats(score)
    except Exception as exc:
        return {"status": "dropped", "id": tid, "reason": f"music21 could not parse it ({type(exc).__name__})"}
    if not notes or any(not by_label[lab][0] for lab in CHORALE_PARTS):
        return {"status": "dropped", "id": tid, "reason": "a part has no notes"}
    key = None
    if keys:
        first = keys[0]
        encoded = first if isinstance(first, m21key.Key) else first.asKey("major")
        # A chorale ends on its tonic: pick the major or minor reading of the key signature whose
        # tonic is the last bass note; keep the encoded key when neither is (e.g. Phrygian endings).
        bass_ps, bass_ss, _ = by_label["B"]
        last_bass = bass_ps[max(range(len(bass_ps)), key=lambda i: bass_ss[i])] % 12
        chosen = encoded
        for mode in ("major", "minor"):
            k = first.asKey(mode)
            if k.tonic.pitchClass == last_bass:
                chosen = k
                break
        key = _key_name(chosen.tonic.pitchClass, chosen.mode)
    bwv = task["stem"][3:] if task["stem"].startswith("bwv") else task["stem"]
    base = bwv.split("-")[0]
    titles, riemenschneider = task["catalogue"]
    title = titles.get(bwv) or titles.get(base) or \
        (score.metadata.title if score.metadata is not None and score.metadata.title else "") or f"BWV {bwv}"
    notes, pickup, rest = _start_at_zero(notes, pickup, ts or [4, 4])
    meta = {
        "id": tid, "title": title, "collection": "bach", "key": key,
        "meter": f"{ts[0]}/{ts[1]}" if ts else "none",
        "bars": _bars(max(n.end for n in notes), pickup, ts or [4, 4]), "family": "",
        "split": "", "pickup": pickup, "tempo": CHORALE_TEMPO, "time_signature": ts or [4, 4],
        "source": f"music21 corpus {task['file']}", "bwv": bwv,
        "riemenschneider": riemenschneider.get(bwv) or riemenschneider.get(base),
        "parts_by": mapped_by, "grace_notes_dropped": graces, "repeat_signs": repeats,
        "leading_rest": rest or None,
    }
    if meter_changes:
        meta["meter_changes"] = meter_changes
    if chords:
        meta["chords_reduced"] = chords
    meta = {k: v for k, v in meta.items() if v is not None}
    result = _finish(task, notes, meta)
    # the hymn tune's opening: soprano pitch steps with repeated notes merged
    sp = [p for _, p in sorted(zip(by_label["S"][1], by_label["S"][0]))]
    sp = [p for i, p in enumerate(sp) if i == 0 or p != sp[i - 1]]
    result["incipit"] = tuple(b - a for a, b in zip(sp, sp[1:]))[:8]
    return result


def _process(task: dict) -> dict:
    try:
        return _process_abc(task) if task["kind"] == "abc" else _process_chorale(task)
    except Exception as exc:  # never let one odd tune stop a build of thousands
        tid = f"{task['collection']}/{task['stem']}/{task.get('x', '')}".rstrip("/")
        return {"status": "dropped", "id": tid, "reason": f"could not be converted ({type(exc).__name__}: {exc})"}


def _run_tasks(tasks: list[dict], workers: int, progress: bool, desc: str) -> list[dict]:
    from tqdm.auto import tqdm

    if workers > 1 and len(tasks) > 50:
        import multiprocessing
        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            results = list(tqdm(pool.imap(_process, tasks, chunksize=8), total=len(tasks), desc=desc,
                                unit="tune", disable=not progress))
    else:
        results = [_process(t) for t in tqdm(tasks, desc=desc, unit="tune", disable=not progress)]
    return results


def _deduplicate(results: list[dict], dropped: list[dict]) -> list[dict]:
    """Keep the first of every group of identical tunes (identical up to transposition)."""
    seen: dict[str, str] = {}
    kept = []
    for r in results:
        first = seen.get(r["fingerprint"])
        if first is not None:
            dropped.append({"id": r["id"], "reason": f"duplicate of {first} (same music, maybe transposed)"})
            continue
        seen[r["fingerprint"]] = r["id"]
        kept.append(r)
    return kept


def _chorale_families(kept: list[dict]) -> None:
    """Harmonisations of one hymn tune form a family: same title, or the same soprano opening."""
    parent = list(range(len(kept)))

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def join(i, j):
        a, b = root(i), root(j)
        if a != b:
            parent[max(a, b)] = min(a, b)

    by_title: dict[str, int] = {}
    by_incipit: dict[tuple, int] = {}
    for i, r in enumerate(kept):
        title = re.sub(r"\W+", " ", r["meta"]["title"].lower()).strip()
        join(i, by_title.setdefault(title, i))
        if len(r["incipit"]) >= 6:
            join(i, by_incipit.setdefault(r["incipit"], i))
    for i, r in enumerate(kept):
        family = "bach:" + kept[root(i)]["meta"]["title"]
        r["meta"]["family"] = family
        r["meta"]["split"] = split_of(family)


def _write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """An ``.npz`` that is the same bytes every time: fixed entry order, date and permissions."""
    
    def write(fh):
        with zipfile.ZipFile(fh, "w") as zf:
            for name in arrays:
                buf = io.BytesIO()
                np.lib.format.write_array(buf, np.ascontiguousarray(arrays[name]), allow_pickle=False)
                info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_DATE)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.create_system = 3
                info.external_attr = 0o644 << 16
                zf.writestr(info, buf.getvalue(), compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)

    atomic_write(path, write)
    os.chmod(path, 0o644)  # a temporary file starts private; data files are for everyone to read


def _write_json(path: Path, doc: dict) -> None:
    """JSON with one piece per line (readable diffs), keys sorted, no time stamps."""
    
    pieces = doc["pieces"]
    head = {k: v for k, v in doc.items() if k != "pieces"}
    lines = ["{"]
    for k in sorted(head):
        lines.append(f"{json.dumps(k)}: {json.dumps(head[k], sort_keys=True, ensure_ascii=False)},")
    lines.append('"pieces": [')
    lines.append(",\n".join(json.dumps(m, sort_keys=True, ensure_ascii=False) for m in pieces))
    lines.append("]}")
    text = "\n".join(lines) + "\n"
    atomic_write(path, lambda fh: fh.write(text.encode("utf-8")))
    os.chmod(path, 0o644)


def _save(out: Path, stem: str, name: str, kept: list[dict], build_info: dict) -> None:
    labels: list[str] = []
    for r in kept:
        for k in r["part"]:
            if k is not None and k not in labels:
                labels.append(k)
    # S, A, T, B in score order rather than in order of appearance
    labels.sort(key=lambda k: (CHORALE_PARTS.index(k) if k in CHORALE_PARTS else len(CHORALE_PARTS), k))
    order = {k: i for i, k in enumerate(labels)}
    offsets = np.zeros(len(kept) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(r["pitch"]) for r in kept])
    tok_offsets = np.zeros(len(kept) + 1, dtype=np.int64)
    tok_offsets[1:] = np.cumsum([len(r["tokens"]) for r in kept])
    cat = (lambda key, dtype: np.asarray([x for r in kept for x in r[key]], dtype=dtype))
    arrays = {
        "pitch": cat("pitch", np.uint8),
        "start": cat("start", np.float64),
        "duration": cat("duration", np.float64),
        "velocity": np.full(int(offsets[-1]), 80, dtype=np.uint8),
        "part": np.asarray([order[k] if k is not None else -1 for r in kept for k in r["part"]], dtype=np.int8),
        "note_offsets": offsets,
        "tokens_spq4": (np.concatenate([r["tokens"] for r in kept]) if kept else np.zeros(0, np.uint8)),
        "token_offsets": tok_offsets,
    }
    _write_npz(out / f"{stem}.npz", arrays)
    _write_json(out / f"{stem}.json", {"format": "musegen-dataset", "version": FORMAT_VERSION, "name": name,
                                       "part_labels": labels, "build": build_info,
                                       "pieces": [r["meta"] for r in kept]})


def _summary(kept: list[dict], dropped: list[dict], n_source: dict) -> dict:
    by_collection: dict[str, dict] = {}
    for r in kept:
        m = r["meta"]
        c = by_collection.setdefault(m["collection"], {"pieces": 0, "families": set(),
                                                       **{s: 0 for s in SPLITS},
                                                       **{f"{s}_families": set() for s in SPLITS}})
        c["pieces"] += 1
        c[m["split"]] += 1
        c["families"].add(m["family"])
        c[f"{m['split']}_families"].add(m["family"])
    counts = {}
    for name, c in by_collection.items():
        counts[name] = {k: (len(v) if isinstance(v, set) else v) for k, v in c.items()}
        counts[name]["source_tunes"] = n_source.get(name, 0)
    reasons: dict[str, int] = {}
    for d in dropped:
        short = re.sub(r" of \S+ ", " of another tune ", d["reason"])
        short = re.sub(r"^\d+ parts \(.*\)", "not four vocal parts", short)
        short = re.sub(r"O'Neill number \d+ again \(kept \S+\)",
                       "the same O'Neill number in two overlapping files (the first is kept)", short)
        reasons[short] = reasons.get(short, 0) + 1
    return {"counts": counts, "dropped": dropped, "dropped_by_reason": dict(sorted(reasons.items()))}


def build(out_dir: str | os.PathLike | None = None, limit: int | None = None, workers: int = 2,
          progress: bool = True, manifest: bool = True) -> dict:
    """Rebuild the datasets from music21's corpus into ``out_dir`` (default: the course's ``datasets/``).

    ``limit`` takes only the first ``limit`` tunes of each collection (Essen, O'Neill, the Bach
    folder), in a fixed order (files sorted by name, tunes in file order), so a quick build can be
    compared with the full one. The same inputs give the same bytes. Returns the build summary.

    Lesson: 01_representation
    """
    import music21

    limit = check_limit(limit)
    out = Path(out_dir) if out_dir is not None else DATA_DIR
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()

    # ---- melodies --------------------------------------------------------------------
    tasks = _melody_tasks(limit)
    n_source = {c: sum(t["collection"] == c for t in tasks) for c in MELODY_COLLECTIONS}
    results = _run_tasks(tasks, workers, progress, "melodies")
    dropped = [{"id": r["id"], "reason": r["reason"]} for r in results if r["status"] != "ok"]
    ok = [r for r in results if r["status"] == "ok"]
    # O'Neill's files overlap (two transcriptions of 0732-0758, of 1116-1135, ...): one per number
    numbers: dict[str, str] = {}
    unique = []
    for r in ok:
        if r["meta"]["collection"] == "oneill":
            number = str(r["meta"].get("oneill_number"))
            if number in numbers:
                dropped.append({"id": r["id"], "reason": f"O'Neill number {number} again (kept {numbers[number]})"})
                continue
            numbers[number] = r["id"]
        unique.append(r)
    kept = _deduplicate(unique, dropped)
    version = music21.__version__ if hasattr(music21, "__version__") else str(music21.VERSION_STR)
    info = {"command": BUILD_COMMAND + (f" --limit {limit}" if limit else ""), "limit": limit,
            "music21_version": version, "token_steps_per_quarter": CACHED_STEPS_PER_QUARTER,
            **_summary(kept, dropped, n_source)}
    _save(out, MELODIES_STEM, "melodies", kept, info)
    melody_info = info

    # ---- chorales --------------------------------------------------------------------
    catalogue = _chorale_catalogue()
    ctasks = _chorale_tasks(limit)
    for t in ctasks:
        t["catalogue"] = catalogue
    cresults = _run_tasks(ctasks, workers, progress, "chorales")
    cdropped = [{"id": r["id"], "reason": r["reason"]} for r in cresults if r["status"] != "ok"]
    ckept = _deduplicate([r for r in cresults if r["status"] == "ok"], cdropped)
    _chorale_families(ckept)
    cinfo = {"command": BUILD_COMMAND + (f" --limit {limit}" if limit else ""), "limit": limit,
             "music21_version": version, "token_steps_per_quarter": CACHED_STEPS_PER_QUARTER,
             **_summary(ckept, cdropped, {"bach": len(ctasks)})}
    _save(out, CHORALES_STEM, "chorales", ckept, cinfo)

    seconds = time.perf_counter() - started
    summary = {"melodies": melody_info, "chorales": cinfo, "seconds": seconds, "workers": workers}
    if manifest:
        _write_manifest(out, seconds, workers)
    return summary


# ---------------------------------------------------------------------------------------
# MANIFEST.md
# ---------------------------------------------------------------------------------------
def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _licence_text(relative: str) -> str:
    path = _corpus_dir() / relative
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return "(licence file not found in this music21 installation)"
    body = [line for line in text.splitlines() if not line.startswith("#")]
    return "\n".join("> " + line if line.strip() else ">" for line in "\n".join(body).strip().splitlines())


def _caveats(pieces: list[dict]) -> list[str]:
    """Lines for the manifest: what was changed in the tunes that were kept."""
    n = len(pieces)
    count = (lambda test: sum(1 for m in pieces if test(m)))
    graces = sum(m.get("grace_notes_dropped", 0) for m in pieces)
    not_expanded = [m["id"] for m in pieces if str(m.get("repeats", "")).startswith("not expanded")]
    lines = [
        f"* {count(lambda m: m.get('repeats') == 'expanded')} of {n} tunes had their repeats written out; "
        f"{len(not_expanded)} could not be (kept as written: {', '.join(f'`{i}`' for i in not_expanded) or '—'}).",
        f"* {graces} grace notes left out, in {count(lambda m: m.get('grace_notes_dropped'))} tunes.",
        f"* {count(lambda m: m.get('pickup', 0) > 0)} tunes open with an upbeat; "
        f"{count(lambda m: m.get('leading_rest'))} opened with a rest, now removed (`leading_rest`).",
        f"* {count(lambda m: m.get('meter') == 'none')} tunes in free meter (`M: none`), "
        f"{count(lambda m: m.get('meter_changes'))} with written meter changes, "
        f"{count(lambda m: m.get('chords_reduced'))} with chords reduced to their top note.",
    ]
    essen = [m for m in pieces if m.get("collection") == "essen"]
    if essen:
        minor = sum(1 for m in essen if (m.get("key") or "").endswith("minor"))
        lines.append(f"* Essen modes guessed from the third: {len(essen) - minor} major, {minor} minor.")
    return lines


def _write_manifest(out: Path, seconds: float, workers: int) -> None:
    """Write ``MANIFEST.md`` from the data files in ``out`` (counts, checksums, licences)."""
    
    docs = {}
    for stem in (MELODIES_STEM, CHORALES_STEM):
        with open(out / f"{stem}.json", encoding="utf-8") as fh:
            docs[stem] = json.load(fh)
    mel, cho = docs[MELODIES_STEM]["build"], docs[CHORALES_STEM]["build"]
    summary = {"seconds": seconds, "workers": workers}
    lines = [
        "# Datasets — manifest",
        "",
        "Written by the builder; do not edit by hand. Rebuild (byte for byte the same data files):",
        "",
        "```",
        mel["command"] + "            # all tunes, 2 worker processes",
        f"{BUILD_COMMAND} --limit 20 --out /tmp/small   # the first 20 of each collection",
        "```",
        "",
        f"Built with music21 {mel['music21_version']}; the last build took "
        f"{summary['seconds']:.0f} s with {summary['workers']} worker process{'' if summary['workers'] == 1 else 'es'}.",
        "Loading: `from musegen_helpers.datasets import load_melodies, load_chorales`.",
        "",
        "## Files",
        "",
        "| file | bytes | SHA-256 |",
        "|---|---:|---|",
    ]
    for stem in (MELODIES_STEM, CHORALES_STEM):
        for suffix in (".npz", ".json"):
            p = out / f"{stem}{suffix}"
            lines.append(f"| `{p.name}` | {p.stat().st_size} | `{_sha256(p)}` |")
    lines += [
        "",
        "Each `.npz` holds flat arrays (`pitch` uint8 MIDI, `start` and `duration` float64 in quarter",
        "notes, `velocity`, `part` index into the JSON's `part_labels`, `note_offsets`; `tokens_spq4`",
        "and `token_offsets`: `melody_to_tokens` on the 16th-note grid, cached). The `.json` holds one",
        "metadata line per piece and a `build` record with the counts and every tune left out.",
        "No pickles: load with `np.load(path, allow_pickle=False)`.",
        "",
        "## Counts",
        "",
        "| collection | source tunes | kept | families | train | valid | test | train families "
        "| valid families | test families |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for info in (mel, cho):
        for name, c in info["counts"].items():
            lines.append(f"| {name} | {c['source_tunes']} | {c['pieces']} | {c['families']} | {c['train']} | "
                         f"{c['valid']} | {c['test']} | {c['train_families']} | {c['valid_families']} | "
                         f"{c['test_families']} |")
    lines += [
        "",
        "Splits are by family (`split_of(family)`: SHA-1 of the family name, 80 / 10 / 10 % of the",
        "families), so no variant of a test tune is in the training data:",
        "",
        "* **essen** — the family is the EsAC id in the tune's first `N:` field without its variant",
        "  letters (`E0001`, `E0001A`, `E0001B` → `essen:E0001`). Some ids appear more than once in the",
        "  corpus (the `test*.abc` files repeat tunes of `han1.abc`; `C0000` is used for several",
        "  tunes); those share a family, which only makes the split more careful.",
        "* **oneill** — each O'Neill number is its own family (`oneill:123`).",
        "* **bach** — harmonisations of the same hymn tune: chorales with the same title (from",
        "  music21's Riemenschneider/BWV list) or the same soprano opening (the first 8 pitch steps,",
        "  repeated notes merged) form one family, named after its first chorale's title.",
        "",
        "## What was done to the music",
        "",
        "* ABC tunes are parsed one by one with the package's one ABC reader, `score_io.parse_abc`",
        "  (music21 underneath; ABC 2.1 accidentals; fields changed mid-tune take effect where written).",
        "  Ties are merged; grace notes are left out and counted (`meta['grace_notes_dropped']`);",
        "  tuplets keep exact durations (a triplet eighth is 1/3 quarter note; tokens quantise it);",
        "  a chord in a tune keeps its top note (`chords_reduced`).",
        "* Notes start at 0; an upbeat is at 0. Its length in quarter notes is stored as `pickup` in",
        "  each piece's metadata (`ds.meta[i]['pickup']`) and loaded as the typed field `Piece.pickup`",
        "  (bars follow it: `piece.bars()`); it is not repeated in `piece.meta`.",
        "* Repeats are written out with music21's `expandRepeats()`; when that fails the tune is kept",
        "  as written and `meta['repeats']` says so. Chorales keep their repeat signs unexpanded.",
        "* The first time signature is the Piece's; later changes are in `meta['meter_changes']`:",
        "  the chorales' with their positions (`[offset, '3/4']`), loaded as `piece.time_signature_changes`;",
        "  the ABC melodies' without a position, so they stay in `piece.meta` only.",
        "  Tunes marked `M: none` (free meter) get 4/4 as a placeholder and `meter` = 'none'.",
        "* Essen keys: the `K:` field of these files names the final (tonic) with all accidentals",
        "  written out, so the mode is guessed: minor when the minor third above the tonic sounds",
        "  longer than the major third. O'Neill keys are as written. Chorale keys: the major or minor",
        "  reading of the key signature whose tonic is the last bass note (else the encoded key).",
        "* Duplicates (the same notes and rhythm, also when transposed) are removed before splitting,",
        "  keeping the first in the order above. O'Neill's overlapping files keep one tune per number.",
        "* Tempo: 120 quarter notes per minute for tunes without a `Q:` field; chorales 80.",
        "* Chorales: only scores with exactly four parts named Soprano/Alto/Tenor/Bass (or, without",
        "  names, four parts ordered by average pitch) are kept; parts are labelled S, A, T, B.",
        "",
        "## Kept, with changes",
        "",
        *_caveats(docs[MELODIES_STEM]["pieces"]),
        "",
        "## Left out",
        "",
        "| dataset | reason | tunes |",
        "|---|---|---:|",
    ]
    for label, info in (("melodies", mel), ("chorales", cho)):
        for reason, n in info["dropped_by_reason"].items():
            lines.append(f"| {label} | {reason} | {n} |")
    lines += ["", "<details><summary>Every tune left out, with the reason</summary>", ""]
    for info in (mel, cho):
        for d in info["dropped"]:
            lines.append(f"- `{d['id']}`: {d['reason']}")
    lines += [
        "", "</details>", "",
        "## Sources and licences",
        "",
        "All music comes from the corpus shipped with music21 (BSD-licensed software; the corpus",
        "files keep their own terms). These data files are **not** covered by the licence of the",
        "course's code: the Essen encodings are licensed for non-commercial use only, and the notices",
        "below apply. Use them for teaching and study.",
        "",
        "**Essen folk song collection** (`music21/corpus/essenFolksong/`), its `license.txt` says:",
        "",
        _licence_text("essenFolksong/license.txt"),
        "",
        "**O'Neill's Music of Ireland** (`music21/corpus/oneills1850/`): Francis O'Neill's",
        "collection of 1850 melodies, published in Chicago in 1903. The ABC files were typed in by",
        "volunteers, named in each tune's `Z:` field (\"Transcribed by Norbert Paap\", \"... Henrik",
        "Norbeck\", \"... Bob Safranek\", \"1997 by John Chambers\", ...). The folder has no licence",
        "file of its own, so the corpus-wide notice below applies.",
        "",
        "**Bach chorales** (`music21/corpus/bach/`): Bach's music is in the public domain; the",
        "encodings are distributed with music21 under the corpus-wide notice below.",
        "",
        "**music21 corpus** (`music21/corpus/license.txt`):",
        "",
        _licence_text("license.txt"),
        "",
    ]
    text = "\n".join(lines)
    atomic_write(out / "MANIFEST.md", lambda fh: fh.write(text.encode("utf-8")))
    os.chmod(out / "MANIFEST.md", 0o644)


# ---------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m musegen_helpers.datasets",
                                     description="Build the course datasets from music21's corpus.")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="parse the corpus and write datasets/*.npz, *.json, MANIFEST.md")
    b.add_argument("--limit", type=int, default=None, help="only the first N tunes of each collection")
    b.add_argument("--out", default=None, help=f"output folder (default {DATA_DIR})")
    b.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    b.add_argument("--no-progress", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    # call through the package module so worker processes can import the task function
    import importlib
    module = importlib.import_module("musegen_helpers.dataset_build")
    summary = module.build(args.out, limit=args.limit, workers=max(1, args.workers),
                           progress=not args.no_progress)
    out = Path(args.out) if args.out else DATA_DIR
    for name in ("melodies", "chorales"):
        for coll, c in summary[name]["counts"].items():
            print(f"{coll}: {c['pieces']} pieces kept of {c['source_tunes']} "
                  f"(train {c['train']}, valid {c['valid']}, test {c['test']})")
        print(f"{name}: {len(summary[name]['dropped'])} left out")
    print(f"wrote {out} in {summary['seconds']:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
