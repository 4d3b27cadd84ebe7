"""Reading scores with music21: ABC, MusicXML (.xml/.mxl/.musicxml), Humdrum (.krn), MEI.

* :func:`load_score` — a score file into a :class:`~musegen_helpers.music.Piece`;
* :func:`from_music21` — a music21 stream into a Piece: sounding pitch, ties, every part and
  drum hit, and the meter, key and tempo maps with the pickup;
* :func:`list_tunes`, :func:`read_abc_tunes`, :func:`parse_abc` — the one ABC reading of the
  package (``load_score`` and the dataset builder both use it): a file of many tunes, one
  tune chosen by its ``X:`` number or title, ABC 2.1 rules (an accidental lasts to the bar
  line), and fields changed mid-tune (``K:``, ``M:``, ``L:``, ``Q:`` lines and ``[K:G]``
  inline fields) placed where the tune changes them.

Every failure to read is a :class:`~musegen_helpers.errors.MusicFileError` naming the file.
Writing a Piece as a score is :mod:`musegen_helpers.notation`'s job.

Source: music21 (``converter``, ``abcFormat``, ``Score.toSoundingPitch``); the ABC 2.1
standard (abcnotation.com/wiki/abc:standard:v2.1); MusicXML 4.0 (``<unpitched>``,
``<midi-unpitched>``, ``<transpose>``).

Lesson: 01_representation
"""

from __future__ import annotations

import io
import re
import warnings
import zipfile
from collections import Counter
from fractions import Fraction
from pathlib import Path
from typing import NamedTuple

from .errors import MusicFileError, outside_stacklevel
from .files import PathLike, read_bytes
from .music import PITCH_CLASS_NAMES, Note, Piece, bar_length_of, parse_key

__all__ = ["load_score", "from_music21", "list_tunes", "read_abc_tunes", "parse_abc", "AbcTune",
           "SCORE_SUFFIXES", "ABC_VERSION_LINE", "GM_DRUM_BY_STAFF_POSITION"]

SCORE_SUFFIXES = {".abc", ".xml", ".mxl", ".musicxml", ".krn", ".mid", ".midi", ".mei"}
MAX_FILE_BYTES = 5_000_000

#: Put in front of an ABC tune that names no version of its own, so that music21 reads it by the
#: current standard, ABC 2.1: an accidental lasts to the bar line (music21's default, ABC 1.3,
#: would apply it to one note only).
ABC_VERSION_LINE = "%abc-2.1\n"

#: General MIDI drum key (MIDI note number on channel 10) of a drum written at a staff position
#: of a five-line percussion staff, as notation programs' default drum sets place them. Used
#: only when a MusicXML file gives no ``<midi-unpitched>`` for a drum note (with a warning).
GM_DRUM_BY_STAFF_POSITION = {
    ("D", 4): 44,  # pedal hi-hat
    ("E", 4): 35,  # acoustic bass drum
    ("F", 4): 36,  # bass drum 1
    ("A", 4): 41,  # low floor tom
    ("B", 4): 45,  # low tom
    ("C", 5): 38,  # acoustic snare
    ("D", 5): 47,  # low-mid tom
    ("E", 5): 48,  # hi-mid tom
    ("F", 5): 51,  # ride cymbal 1
    ("G", 5): 42,  # closed hi-hat
    ("A", 5): 49,  # crash cymbal 1
}
_DEFAULT_DRUM = 38  # acoustic snare, for a staff position the table does not know

_EPS = 1e-9


# =======================================================================================
# music21 stream -> Piece
# =======================================================================================
def from_music21(stream, *, title: str | None = None, source: str = "") -> Piece:
    """Convert a music21 Score/Part/Stream into a Piece, as the score sounds.

    * Pitches are sounding pitches (``toSoundingPitch``): a B-flat clarinet's written D5 is
      MIDI 72 (C5), and the key comes from the sounding score.
    * Tied notes become one note, also when one note of a chord is tied to the next chord;
      chords become simultaneous notes; grace notes (no duration of their own) are left out
      with a warning that counts them.
    * Each note's ``part`` is its part's name (or id); parts that share a name are told apart
      as a score does ('Violin', 'Violin 2').
    * Unpitched percussion notes become drum notes (``is_drum=True``) whose pitch is the
      General MIDI drum key: the part's MIDI instrument (MusicXML ``<midi-unpitched>``), else
      :data:`GM_DRUM_BY_STAFF_POSITION` of the written staff position, with a warning.
    * Meter and key changes are read bar by bar from the measures (music21 may share one
      TimeSignature among several measures, which a flattened stream would keep only once),
      into ``time_signature_changes`` and ``key_changes``; the first measure's ``paddingLeft``
      gives the ``pickup``; metronome marks give ``tempo`` and ``tempo_changes``.

    Units: positions and durations in quarter notes, pitch as MIDI numbers.

    Raises:
        TypeError: ``stream`` is not a music21 stream.

    Source: music21 ``stream.Stream.toSoundingPitch``, ``note.Unpitched``.
    Lesson: 01_representation
    """
    from music21 import stream as m21stream

    if not isinstance(stream, m21stream.Stream):
        raise TypeError(f"from_music21 needs a music21 stream (Score, Part, ...), got {type(stream).__name__}.")
    return _piece_from_stream(stream, title=title, source=source, drum_keys=None)


def _piece_from_stream(stream, *, title, source, drum_keys) -> Piece:
    from music21 import stream as m21stream

    if isinstance(stream, m21stream.Opus):
        scores = list(stream.scores)
        if not scores:
            return Piece([], title=title or "", source=source)
        if len(scores) > 1:
            warnings.warn(f"{source or 'the music21 Opus'} holds {len(scores)} scores; reading the first "
                          "(pass one score of opus.scores to read another).", stacklevel=outside_stacklevel())
        stream = scores[0]
    sounding = _at_sounding_pitch(stream, source)
    if isinstance(sounding, m21stream.Score) and sounding.parts:
        parts = list(sounding.parts)
    else:
        parts = [sounding]
    # one unnamed part (an ABC tune, a lead sheet) is a plain melody: no label, as melody() makes it
    labels = _part_labels(parts, named=len(parts) > 1 or (isinstance(sounding, m21stream.Score)
                                                          and bool(parts[0].partName)))
    notes: list[Note] = []
    graces = 0
    for part, label in zip(parts, labels):
        part_notes, part_graces = _part_notes(part, label, drum_keys, source)
        notes += part_notes
        graces += part_graces
    if graces:
        warnings.warn(f"{source or 'the score'}: {graces} grace note{'s' if graces != 1 else ''} "
                      "(ornaments without a duration of their own) left out.", stacklevel=outside_stacklevel())

    # meter, key and pickup: from the first part that states them, bar by bar
    ts, ts_changes = (4, 4), []
    key, key_changes = None, []
    for part in parts:
        found = _meter_map(part)
        if found:
            ts, ts_changes = found[0][1], found[1:]
            break
    for part in parts:
        found = _key_map(part)
        if found:
            key, key_changes = found[0][1], found[1:]
            if found[0][0] > _EPS:  # the first key comes later: no key at 0
                key, key_changes = None, found
            break
    pickup = _pickup_length(parts[0]) if parts else 0.0
    if not 0 < pickup < bar_length_of(ts) - _EPS:
        pickup = 0.0
    tempo, tempo_changes = _tempo_map(sounding)
    if title is None:
        md = stream.metadata
        title = (md.title if md is not None and md.title else "") or ""
    return Piece(notes, tempo=tempo, time_signature=ts, key=key, title=title, source=source,
                 tempo_changes=tempo_changes, time_signature_changes=ts_changes,
                 key_changes=key_changes, pickup=pickup)


def _at_sounding_pitch(stream, source):
    """A copy of the stream at sounding pitch (transposing instruments moved to concert pitch)."""
    import copy

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return stream.toSoundingPitch(inPlace=False)
    except Exception as exc:  # music21 cannot transpose some streams (no instruments, odd intervals)
        warnings.warn(f"{source or 'the score'}: could not move it to sounding pitch "
                      f"({type(exc).__name__}: {exc}); reading the written pitches.", stacklevel=outside_stacklevel())
        return copy.deepcopy(stream)


def _part_labels(parts, named: bool) -> list[str | None]:
    """Each part's name (or id); a name used again gets a number, as scores write 'Violin 2'.

    The staves of one instrument (a piano's two staves: music21 ``PartStaff`` objects next to each
    other with one name) are one part and share its label.
    """
    from music21 import stream as m21stream

    if not named:
        return [None] * len(parts)
    labels: list[str] = []
    for i, part in enumerate(parts):
        base = part.partName or (str(part.id) if part.id is not None and not isinstance(part.id, int)
                                 else f"part {i + 1}")
        if i and isinstance(part, m21stream.PartStaff) and isinstance(parts[i - 1], m21stream.PartStaff) \
                and part.partName == parts[i - 1].partName and _same_instrument(part, parts[i - 1]):
            labels.append(labels[-1])
            continue
        label, n = base, 1
        while label in labels:
            n += 1
            label = f"{base} {n}"
        labels.append(label)
    return labels


def _same_instrument(a, b) -> bool:
    """True when two staves belong to one instrument (MusicXML: one ``<score-part>`` of several staves)."""
    ia, ib = a.getInstrument(returnDefault=False), b.getInstrument(returnDefault=False)
    pa, pb = getattr(ia, "partId", None), getattr(ib, "partId", None)
    return pa == pb if pa is not None and pb is not None else True


def _part_notes(part, label, drum_keys, source) -> tuple[list[Note], int]:
    """Notes of one part with ties merged: ``(notes, grace notes left out)``.

    Ties are merged by MIDI number, per note of a chord: music21's ``stripTies`` joins a tied
    note of a chord only when the whole chord is tied, and only when the spellings compare
    equal (an A with a natural sign does not continue a tie from a plain A).
    """
    from music21 import chord as m21chord
    from music21 import harmony, note as m21note, stream as m21stream

    flat = part.flatten()
    voice_of = {id(el): str(v.id) for v in part.recurse().getElementsByClass(m21stream.Voice) for el in v.notes}
    voice_at: dict[int, str | None] = {}  # index of a note -> the voice it was written in
    notes: list[Note] = []
    # (pitch, is_drum) -> indices of notes a tie goes on from (two voices may hold one pitch at once)
    open_ties: dict[tuple[int, bool], list[int]] = {}
    graces = 0
    guessed: Counter = Counter()
    part_key = _part_drum_key(part)
    for el in flat.notes:
        if isinstance(el, harmony.Harmony):  # chord symbols are labels, not sounding notes
            continue
        ql = Fraction(el.duration.quarterLength)
        if el.duration.isGrace or ql <= 0:
            graces += 1
            continue
        start = Fraction(flat.elementOffset(el))
        members = list(el.notes) if isinstance(el, m21chord.ChordBase) else [el]
        velocity = el.volume.velocity if el.volume is not None and el.volume.velocity else 80
        for member in members:
            if isinstance(member, m21note.Unpitched):
                pitch, how = _drum_key(member, part, part_key, drum_keys)
                if how:
                    guessed[how] += 1
                is_drum = True
            else:
                pitch, is_drum = int(member.pitch.midi), False
            if not 0 <= pitch <= 127:
                continue
            tie = member.tie  # a chord's ties are its notes' ties
            kind = tie.type if tie is not None else None
            waiting = open_ties.get((pitch, is_drum), [])
            voice = voice_of.get(id(el))
            # a tie goes on from a note of this pitch that ends here, in the same voice if one does
            ends_here = [j for j in waiting if abs(notes[j].end - float(start)) < 1e-6] \
                if kind in ("stop", "continue") else []
            i = next((j for j in ends_here if voice_at.get(j) == voice), ends_here[0] if ends_here else None)
            if i is not None:
                waiting.remove(i)
                n = notes[i]
                notes[i] = Note(n.pitch, n.start, float(start + ql) - n.start, n.velocity, n.part, n.is_drum)
            else:
                i = len(notes)
                notes.append(Note(pitch, float(start), float(ql), int(velocity), label, is_drum))
                voice_at[i] = voice
            if kind in ("start", "continue"):
                open_ties.setdefault((pitch, is_drum), []).append(i)
    if guessed:
        what = ", ".join(f"{k} ({n} note{'s' if n != 1 else ''})" for k, n in sorted(guessed.items()))
        warnings.warn(f"{source or 'the score'}: part {label or ''!r} has drum notes without a MIDI drum "
                      f"key (MusicXML <midi-unpitched>); keys taken from the staff position: {what}. "
                      "Add <midi-instrument> with <midi-unpitched> to the file to choose them.", stacklevel=outside_stacklevel())
    return notes, graces


def _part_drum_key(part) -> int | None:
    """The GM drum key (0-based MIDI number) of a part's percussion instrument, if it names one."""
    try:
        inst = part.getInstrument(returnDefault=False)
    except Exception:
        inst = None
    key = getattr(inst, "percMapPitch", None)
    return int(key) if key is not None else None


def _drum_key(member, part, part_key, drum_keys) -> tuple[int, str | None]:
    """GM drum key of an unpitched note, and a description when it was guessed (else None)."""
    step, octave = member.displayStep, member.displayOctave
    part_id = getattr(part.getInstrument(returnDefault=False), "partId", None) if drum_keys else None
    if drum_keys and (part_id, step, octave) in drum_keys:
        return drum_keys[(part_id, step, octave)], None
    stored = getattr(member, "storedInstrument", None)
    if stored is not None and getattr(stored, "percMapPitch", None) is not None:
        return int(stored.percMapPitch), None
    if part_key is not None and (drum_keys is None or not any(k[0] == part_id for k in drum_keys)):
        return part_key, None
    key = GM_DRUM_BY_STAFF_POSITION.get((step, octave), _DEFAULT_DRUM)
    return key, f"{step}{octave} -> {key}"


def _measure_changes(part, classes):
    """``[(position in quarter notes, element)]`` of the given classes, bar by bar, in order."""
    from music21 import stream as m21stream

    found = []
    measures = list(part.getElementsByClass(m21stream.Measure))
    if measures:
        for m in measures:
            for el in m.getElementsByClass(classes):
                found.append((float(Fraction(m.offset) + Fraction(m.elementOffset(el))), el))
    else:
        flat = part.flatten()
        for el in flat.getElementsByClass(classes):
            found.append((float(Fraction(flat.elementOffset(el))), el))
    return sorted(found, key=lambda item: item[0])


def _meter_map(part) -> list[tuple[float, tuple[int, int]]]:
    """The meters of a part, ``[(position, (beats, unit))]``, leaving out repeats of the meter in force."""
    from music21 import meter

    out: list[tuple[float, tuple[int, int]]] = []
    for at, ts in _measure_changes(part, meter.TimeSignature):
        value = (int(ts.numerator), int(ts.denominator))
        if value[1] not in (1, 2, 4, 8, 16, 32) or value[0] < 1:
            continue
        if out and abs(out[-1][0] - at) < _EPS:
            out[-1] = (at, value)
        elif not out or out[-1][1] != value:
            out.append((at, value))
    return out


def _key_name(k) -> str | None:
    """'G major' for a music21 Key; a bare KeySignature is read as its major key."""
    from music21 import key as m21key

    if isinstance(k, m21key.Key):
        name = f"{PITCH_CLASS_NAMES[k.tonic.pitchClass]} {k.mode}"
    else:
        name = f"{PITCH_CLASS_NAMES[k.asKey('major').tonic.pitchClass]} major"
    try:
        parse_key(name)
    except ValueError:
        return None
    return name


def _key_map(part) -> list[tuple[float, str]]:
    """The keys of a part, ``[(position, key name)]`` (Key or KeySignature objects in its measures)."""
    from music21 import key as m21key

    out: list[tuple[float, str]] = []
    for at, k in _measure_changes(part, m21key.KeySignature):
        name = _key_name(k)
        if name is None:
            continue
        if out and abs(out[-1][0] - at) < _EPS:
            out[-1] = (at, name)
        elif not out or parse_key(out[-1][1]) != parse_key(name):
            out.append((at, name))
    return out


def _tempo_map(stream) -> tuple[float, list[tuple[float, float]]]:
    """``(tempo at 0, [(position, BPM)])`` from the metronome marks of every part (one per position)."""
    from music21 import tempo as m21tempo

    flat = stream.flatten()
    at: dict[float, float] = {}
    for mark in flat.getElementsByClass(m21tempo.MetronomeMark):
        if not mark.number:
            continue
        bpm = min(max(float(mark.getQuarterBPM()), 1.0), 1000.0)
        at.setdefault(round(float(Fraction(flat.elementOffset(mark))), 9), bpm)
    tempo = at.pop(0.0, 120.0)  # no mark at the start: 120, the MIDI default, until the first
    return tempo, sorted(at.items())


def _pickup_length(part) -> float:
    """Length in quarter notes of an anacrusis (an incomplete first bar), or 0."""
    from music21 import stream as m21stream

    measures = list(part.getElementsByClass(m21stream.Measure))
    if not measures:
        return 0.0
    padding = float(measures[0].paddingLeft or 0.0)
    if padding <= 0:
        return 0.0
    return float(measures[0].barDuration.quarterLength) - padding


# =======================================================================================
# ABC: the one reading of the package
# =======================================================================================
class AbcTune(NamedTuple):
    """One tune of an ABC file, as :func:`read_abc_tunes` and :func:`list_tunes` list them.

    Attributes:
        number: the ``X:`` reference number (an int; None when missing or not a number).
        title: the first ``T:`` field ('' when none).
        meter: the ``M:`` field as written ('6/8', 'C|', 'none'), or None.
        key: the ``K:`` field as written ('G', 'Ador', 'Bb'), or None.
        fields: the first value of each header field, by letter (``fields['X']`` is the
            number as written, e.g. '0490').
        text: the tune itself, from its ``X:`` line up to the next tune.
        header: the file header (fields and ``%`` lines before the first ``X:``), which applies
            to every tune of the file.
    """

    number: int | None
    title: str
    meter: str | None
    key: str | None
    fields: dict
    text: str
    header: str = ""

    @property
    def abc(self) -> str:
        """The text music21 reads for this tune: the file header, then the tune."""
        return self.header + self.text


def read_abc_tunes(text: str) -> list[AbcTune]:
    """Split ABC text into its tunes (each starts with an ``X:`` line), in file order.

    A text without any ``X:`` line is one tune. Header fields keep the first value of each
    letter (e.g. the first ``N:`` line); the header ends with the ``K:`` line. Shapes: a list
    of :class:`AbcTune`.

    Source: ABC 2.1 standard, sections 2.2 (file structure) and 3 (information fields).
    Lesson: 01_representation
    """
    chunks = re.split(r"(?m)^(?=X:)", text)
    header_lines = [line for line in chunks[0].splitlines(keepends=True)
                    if re.match(r"\s*(%|[A-Za-z]:)", line)] if not chunks[0].startswith("X:") else []
    header = "".join(header_lines)
    if header and not header.endswith("\n"):
        header += "\n"
    bodies = [c for c in chunks if c.startswith("X:")]
    if not bodies:
        bodies, header = [text], ""
    tunes = []
    for chunk in bodies:
        fields: dict[str, str] = {}
        for line in chunk.splitlines():
            m = re.match(r"([A-Za-z]):\s*(.*?)\s*$", line)
            if m and m.group(1) not in fields:
                fields[m.group(1)] = m.group(2).strip('"')
            if line.startswith("K:"):
                break  # the header ends with the key line
        x = fields.get("X", "").strip()
        tunes.append(AbcTune(int(x) if x.isdigit() else None, fields.get("T", ""), fields.get("M"),
                             fields.get("K"), fields, chunk, header))
    return tunes


def list_tunes(path: PathLike) -> list[AbcTune]:
    """The tunes of an ABC file: number (``X:``), title, meter and key of each, in file order.

    Choose one with ``load_score(path, tune=number)`` or ``tune='title'``.

    Raises:
        MusicFileError: the file is missing, empty, too large, or not an ``.abc`` file.

    Source: ABC 2.1 standard, section 2.2 (a file of tunes, each opened by ``X:``).
    Lesson: 01_representation
    """
    p = Path(path)
    if p.suffix.lower() != ".abc":
        raise MusicFileError(p, "list_tunes reads ABC files (.abc)",
                             "MusicXML, Humdrum and MIDI files hold one piece each: use load_score()")
    return read_abc_tunes(_abc_text(p, MAX_FILE_BYTES))


def _abc_text(p: Path, max_bytes: int) -> str:
    data = read_bytes(p, "ABC", max_bytes)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")  # older ABC collections are Latin-1


def _choose_tune(tunes: list[AbcTune], tune, where: str, stacklevel: int) -> AbcTune:
    """The tune asked for (an X: number or a title), or the first with a warning when there are several."""
    def describe(t):
        return f"X:{t.fields.get('X', '?')} {t.title!r}" if t.title else f"X:{t.fields.get('X', '?')}"

    listing = ", ".join(describe(t) for t in tunes[:8]) + (", ..." if len(tunes) > 8 else "")
    if tune is None:
        if len(tunes) > 1:
            warnings.warn(
                f"{where} holds {len(tunes)} tunes ({listing}); reading the first. Choose one with "
                f"tune=<X: number> or tune='<title>' (e.g. load_score(path, tune={tunes[1].number or 2})); "
                "list_tunes(path) lists them.", stacklevel=outside_stacklevel())
        return tunes[0]
    if isinstance(tune, bool) or not isinstance(tune, (int, str)):
        raise TypeError(f"tune= is an X: number (int) or a title (str), got {tune!r}.")
    if isinstance(tune, int):
        found = [t for t in tunes if t.number == tune]
    else:
        wanted = " ".join(tune.split()).casefold()
        found = [t for t in tunes if " ".join(t.title.split()).casefold() == wanted]
        if not found:
            found = [t for t in tunes if wanted and wanted in t.title.casefold()]
        if len(found) > 1:
            raise LookupError(f"{where}: {len(found)} tunes match the title {tune!r} "
                              f"({', '.join(describe(t) for t in found)}); choose one by its X: number.")
    if not found:
        raise LookupError(f"{where} has no tune {tune!r}; its tunes are: {listing}.")
    return found[0]


class _NoBeaming:
    """While active, music21 skips ``makeBeams`` (drawing beams on eighth notes).

    Beams are notation only: they change no pitch, onset or duration, yet music21's ABC reader
    spends about two thirds of its time on them. The dataset builder reads thousands of tunes
    without them; ``tests/test_datasets.py`` checks the notes equal an ordinary music21 parse.
    """

    def __enter__(self):
        from music21 import stream
        self._saved = stream.Stream.makeBeams
        stream.Stream.makeBeams = lambda self_, *args, **kwargs: None if kwargs.get("inPlace") else self_
        return self

    def __exit__(self, *exc):
        from music21 import stream
        stream.Stream.makeBeams = self._saved
        return False


_INLINE_FIELD = re.compile(r"\[([KLMQ]):([^\]\n]*)\]")


def _inline_fields_as_lines(text: str) -> str:
    """Write inline fields of the tune body (``[K:G]``, ``[M:3/4]``, ``[L:1/16]``, ``[Q:1/4=90]``) as
    field lines. music21 reads inline fields as empty chords and ignores them; field lines it
    reads. ABC line breaks split no bar (only bar lines do), so the music is unchanged."""
    if "[" not in text:
        return text
    out, in_body = [], False
    for line in text.splitlines(keepends=True):
        if in_body and not line.lstrip().startswith("%") and _INLINE_FIELD.search(line):
            end = "\n" if line.endswith("\n") else ""
            pieces = []
            pos = 0
            body = line.rstrip("\n")
            for m in _INLINE_FIELD.finditer(body):
                before = body[pos:m.start()]
                if before.strip():
                    pieces.append(before.rstrip())
                pieces.append(f"{m.group(1)}:{m.group(2).strip()}")
                pos = m.end()
            rest = body[pos:]
            if rest.strip():
                pieces.append(rest.lstrip())
            out.append("\n".join(pieces) + end)
            continue
        out.append(line)
        if line.startswith("K:"):
            in_body = True
    return "".join(out)


def parse_abc(text: str | AbcTune, *, tune: int | str | None = None, beams: bool = True):
    """Read one ABC tune into a music21 ``Score`` — the package's one way of reading ABC.

    * ``text`` is an :class:`AbcTune` (from :func:`read_abc_tunes`) or ABC text; text with
      several tunes gives the one chosen by ``tune`` (an ``X:`` number or a title), or the
      first with a warning that says how many there are.
    * A tune that names no ABC version is read as ABC 2.1 (:data:`ABC_VERSION_LINE`): an
      accidental lasts to the bar line (``K:C`` then ``^F G F`` is F#, G, F#).
    * Fields changed mid-tune — ``K:``, ``M:``, ``L:``, ``Q:`` lines in the body and inline
      ``[K:G]``, ``[M:3/4]``, ``[L:1/16]``, ``[Q:1/4=90]`` — take effect where they are written;
      each part's measures then hold exactly the meters and keys the tune writes, at the
      positions where it writes them. (music21 alone skips inline fields, drops the key
      signature of a ``K:`` line, and gives a bar that overflows its meter an invented meter
      such as 1/8 or 4/4; read by :func:`from_music21`, such a meter would be a false meter
      change.)
    * ``beams=False`` skips drawing beams (several times faster; the notes are the same).

    Raises:
        LookupError: no tune matches ``tune``, or a title matches several.
        Exception: whatever music21 raises on text it cannot read (callers with a file turn it
            into a MusicFileError naming the file, as :func:`load_score` does).

    Source: music21 ``abcFormat`` (ABCHandler tokens, ``translate.abcToStreamScore``); ABC 2.1
    standard, sections 3 (fields), 4.6 (accidentals) and 3.1.3 (version).
    Lesson: 01_representation
    """
    from music21 import abcFormat, stream as m21stream
    from music21.abcFormat import translate

    if isinstance(text, AbcTune):
        abc = text.abc
    else:
        tunes = read_abc_tunes(str(text))
        abc = tunes[0].abc if len(tunes) == 1 and tune is None else \
            _choose_tune(tunes, tune, "the ABC text", stacklevel=outside_stacklevel()).abc
    abc = _inline_fields_as_lines(abc)
    if not re.match(r"\s*%abc-\d", abc):
        abc = ABC_VERSION_LINE + abc
    handler = abcFormat.ABCFile().readstr(abc)
    if handler.definesReferenceNumbers():  # more than one X: line inside one tune: keep the first
        handler = handler.splitByReferenceNumber()[min(k for k in handler.splitByReferenceNumber() if k is not None)]
    score = m21stream.Score()
    if beams:
        translate.abcToStreamScore(handler, score)
    else:
        with _NoBeaming():
            translate.abcToStreamScore(handler, score)
    # the parts' token lists, split as abcToStreamScore splits them (after it: splitting first
    # makes music21 lose the tune's metronome marks)
    voices = handler.splitByVoice()
    part_handlers = voices if len(voices) == 1 else [voices[0] + v for v in voices[1:]]
    for part, part_handler in zip(score.parts, part_handlers):
        _place_abc_fields(part, part_handler)
    return score


def _abc_field_positions(handler):
    """Meters, keys and tempos a tune writes, ``([(position, TimeSignature)], [(position, Key)],
    [(position, MetronomeMark)], end)``, positions in quarter notes, walking music21's ABC tokens
    as its translator does."""
    from music21 import abcFormat

    pos = Fraction(0)
    meters, keys, tempos = [], [], []
    for t in handler.tokens:
        if isinstance(t, abcFormat.ABCMetadata):
            if t.isMeter():
                ts = t.getTimeSignatureObject()
                if ts is not None:
                    meters.append((pos, ts))
            elif t.isKey():
                ks = t.getKeySignatureObject()
                if ks is not None:
                    keys.append((pos, ks))
            elif t.isTempo():
                mark = t.getMetronomeMarkObject()
                if mark is not None and mark.number:
                    tempos.append((pos, mark))
        elif isinstance(t, abcFormat.ABCNote):
            if isinstance(t, abcFormat.ABCChord) and not t.subTokens:
                continue  # an empty chord makes no element
            if t.inGrace:
                continue
            ql = Fraction(t.quarterLength).limit_denominator(10_000)
            if t.activeTuplet is not None:
                ql *= Fraction(t.activeTuplet.tupletMultiplier()).limit_denominator(10_000)
            pos += ql
    return meters, keys, tempos, pos


def _place_abc_fields(part, handler) -> None:
    """Replace music21's meters, key signatures and metronome marks in a part by those the tune
    writes, where it writes them."""
    from music21 import key as m21key, meter, stream as m21stream, tempo as m21tempo

    meters, keys, tempos, end = _abc_field_positions(handler)
    flat_end = Fraction(part.highestTime).limit_denominator(10_000)
    if abs(end - flat_end) > Fraction(1, 1000):
        return  # the walk disagrees with music21's own reading: leave music21's objects alone
    measures = list(part.getElementsByClass(m21stream.Measure))
    containers = measures or [part]
    for c in containers + ([part] if measures else []):  # trailing fields music21 leaves in the part too
        for el in list(c.getElementsByClass((meter.TimeSignature, m21key.KeySignature, m21tempo.MetronomeMark))):
            c.remove(el)

    def place(at: Fraction, obj) -> None:
        target = containers[0]
        for m in containers:
            if Fraction(m.offset).limit_denominator(10_000) <= at + Fraction(1, 100_000):
                target = m
        offset = at - Fraction(target.offset).limit_denominator(10_000) if measures else at
        target.insert(max(float(offset), 0.0), obj)

    for items in (meters, keys, tempos):
        last: dict[Fraction, object] = {}
        for at, obj in items:  # two fields at one position (M: in the header and again before a note): the later wins
            last[at] = obj
        for at, obj in sorted(last.items(), key=lambda item: item[0]):
            place(at, obj)


# =======================================================================================
# Files
# =======================================================================================
def _musicxml_drum_keys(p: Path, data: bytes) -> dict | None:
    """``{(part id, display step, display octave): GM drum key}`` from a MusicXML file's drum notes.

    music21 reads only the first ``<midi-instrument>`` of a part, and not which instrument each
    note names (``<instrument id>``); a drum set has one per drum. MIDI numbers in MusicXML count
    from 1, so ``<midi-unpitched>37`` is GM key 36 (bass drum 1).
    """
    import xml.etree.ElementTree as ET

    try:
        if data[:2] == b"PK":
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                names = [n for n in z.namelist() if not n.startswith("META-INF")
                         and n.lower().endswith((".xml", ".musicxml"))]
                if not names:
                    return None
                data = z.read(names[0])
        if b"<unpitched" not in data:
            return None
        root = ET.fromstring(data)
    except Exception:
        return None
    instrument_key: dict[str, int] = {}
    part_instruments: dict[str, list[str]] = {}
    for sp in root.iter("score-part"):
        for mi in sp.iter("midi-instrument"):
            text = (mi.findtext("midi-unpitched") or "").strip()
            if text.isdigit() and 1 <= int(text) <= 128:
                instrument_key[mi.get("id", "")] = int(text) - 1
                part_instruments.setdefault(sp.get("id", ""), []).append(mi.get("id", ""))
    if not instrument_key:
        return None
    counts: dict[tuple, Counter] = {}
    for part in root.iter("part"):
        pid = part.get("id", "")
        only = part_instruments.get(pid, [])
        for n in part.iter("note"):
            u = n.find("unpitched")
            if u is None:
                continue
            inst = n.find("instrument")
            iid = inst.get("id") if inst is not None else (only[0] if len(only) == 1 else None)
            if iid not in instrument_key:
                continue
            step = (u.findtext("display-step") or "").strip() or None
            octave = (u.findtext("display-octave") or "").strip()
            where = (pid, step, int(octave) if octave.lstrip("-").isdigit() else None)
            counts.setdefault(where, Counter())[instrument_key[iid]] += 1
    return {where: c.most_common(1)[0][0] for where, c in counts.items()} or None


def load_score(path: PathLike, *, max_bytes: int = MAX_FILE_BYTES, expand_repeats: bool = False,
               tune: int | str | None = None) -> Piece:
    """Read a score (ABC, MusicXML .xml/.mxl/.musicxml, Humdrum .krn, MEI, or MIDI) into a Piece.

    * ABC: one tune. A file of several tunes gives the first, with a warning naming how many
      it holds; ``tune=2`` chooses by ``X:`` number, ``tune='The Kesh'`` by title (see
      :func:`list_tunes`). Read by :func:`parse_abc` (ABC 2.1, fields changed mid-tune).
    * MusicXML: sounding pitch, drum parts, ties, parts that share a name — see
      :func:`from_music21`.
    * ``expand_repeats=True`` writes repeat signs out.

    Raises:
        MusicFileError: missing, empty, too large (``max_bytes``), unreadable or unsupported
            file, or no tune matching ``tune`` (or ``tune=`` given for a file that is not ABC) —
            the message names the file.

    Source: music21 ``converter.parse`` (MusicXML, Humdrum, MEI) and :func:`parse_abc` (ABC).
    Lesson: 01_representation
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix in (".mid", ".midi"):
        if tune is not None:
            raise MusicFileError(p, "tune= chooses one tune of an ABC file; this is a MIDI file",
                                 "leave tune= out")
        from .midi_io import load_midi

        return load_midi(p, max_bytes=max_bytes)
    if suffix not in SCORE_SUFFIXES:
        raise MusicFileError(p, f"unsupported file type {suffix or '(no extension)'}",
                             "the course reads .abc, .xml/.mxl/.musicxml, .krn, .mei and .mid files")
    if tune is not None and suffix != ".abc":
        raise MusicFileError(p, f"tune= chooses one tune of an ABC file; this is a {suffix} file, "
                             "which holds one score", "leave tune= out")
    drum_keys = None
    if suffix == ".abc":
        text = _abc_text(p, max_bytes)
        tunes = read_abc_tunes(text)
        try:
            chosen = _choose_tune(tunes, tune, str(p), stacklevel=outside_stacklevel())
        except LookupError as exc:
            raise MusicFileError(p, str(exc).removeprefix(f"{p}: ").removeprefix(f"{p} "),
                                 "see list_tunes(path) for its tunes") from None
        except TypeError as exc:
            raise MusicFileError(p, str(exc), "pass tune=2 or tune='title'") from None
    else:
        data = read_bytes(p, "score", max_bytes)
        if suffix in (".xml", ".mxl", ".musicxml"):
            drum_keys = _musicxml_drum_keys(p, data)
    import music21

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if suffix == ".abc":
                parsed = parse_abc(chosen)
            else:
                parsed = music21.converter.parse(str(p), forceSource=True)
            if expand_repeats:
                parsed = parsed.expandRepeats()
    except Exception as exc:
        raise MusicFileError(p, f"music21 could not parse it ({type(exc).__name__}: {str(exc)[:200]})",
                             "check that the file is complete and really is the format its extension says") from None
    try:
        piece = _piece_from_stream(parsed, title=None, source=str(p), drum_keys=drum_keys)
    except Exception as exc:
        raise MusicFileError(p, f"the score parsed but could not be converted ({type(exc).__name__}: {exc})",
                             "the score may use notation the course does not support") from None
    if suffix == ".abc" and chosen.title:
        piece.title = chosen.title
    if not piece.title:
        piece.title = p.stem
    if not piece.notes:
        warnings.warn(f"{p}: the score contains no notes; returning an empty Piece.", stacklevel=outside_stacklevel())
    return piece
