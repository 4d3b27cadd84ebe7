"""Writing a Piece as notation: a music21 ``Score`` that MusicXML, verovio and notation programs read.

:func:`to_music21` makes every engraving decision — bars (from :meth:`Piece.bars`), rests,
spelling, clefs, staves and voices — so that ``score.show_score``, ``score.musicxml_text`` and
``score.save_musicxml`` all show the same thing.

Lesson: 00_welcome, 01_representation
"""

from __future__ import annotations

from .music import Note, Piece, parse_key

__all__ = ["to_music21"]


def _lanes(events):
    """Split (start, duration, pitches) events into lanes with no overlaps inside a lane."""
    lanes: list[list] = []
    ends: list[float] = []
    for ev in events:
        for i, end in enumerate(ends):
            if ev[0] >= end - 1e-9:
                lanes[i].append(ev)
                ends[i] = ev[0] + ev[1]
                break
        else:
            lanes.append([ev])
            ends.append(ev[0] + ev[1])
    return lanes


_SHARP_NAMES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]
_FLAT_NAMES = ["C", "D-", "D", "E-", "E", "F", "G-", "G", "A-", "A", "B-", "B"]


def to_music21(piece: Piece):
    """Convert a Piece into a music21 ``Score`` with one ``Part`` per part label, highest part on top.

    Notes of a part that start and end together become a chord. When notes of one part
    overlap otherwise, the part is split into extra staves ('melody (2)', ...) so that
    every staff can be written as MusicXML. Black keys are spelt with sharps or flats to
    suit the key; a pickup (``piece.meta['pickup']``, quarter notes) becomes an incomplete
    first bar. Drum notes are left out (no drum staff).
    """
    from music21 import chord as m21chord
    from music21 import clef, metadata, meter, note as m21note, pitch as m21pitch
    from music21 import key as m21key
    from music21 import stream as m21stream, tempo as m21tempo

    score = m21stream.Score()
    score.metadata = metadata.Metadata()
    score.metadata.title = piece.title or "Untitled"
    m21_key = None
    if piece.key:
        tonic, mode = parse_key(piece.key)
        try:
            m21_key = m21key.Key(_FLAT_NAMES[tonic] if tonic in (1, 3, 5, 8, 10) and mode == "major"
                                 else _SHARP_NAMES[tonic].replace("#", "#"), mode)
        except Exception:
            m21_key = None
    names = _FLAT_NAMES if (m21_key is not None and m21_key.sharps < 0) else _SHARP_NAMES
    bar = piece.bar_length
    pickup = float(piece.meta.get("pickup", 0.0) or 0.0)
    shift = (bar - pickup) % bar if 0 < pickup < bar else 0.0

    groups: dict[str | None, dict[tuple[float, float], list[Note]]] = {label: {} for label in piece.parts}
    for n in piece.pitched().notes:
        groups[n.part].setdefault((n.start, n.duration), []).append(n)
    groups = {k: v for k, v in groups.items() if v} or {None: {}}
    first = True
    for label, events in groups.items():
        ordered = sorted((s, d, sorted(ns, key=lambda x: x.pitch)) for (s, d), ns in events.items())
        lanes = _lanes(ordered) if ordered else [[]]
        for li, lane in enumerate(lanes):
            part = m21stream.Part()
            name = label or "Music"
            part.partName = name if li == 0 else f"{name} ({li + 1})"
            part.id = part.partName
            if first:
                part.insert(0, m21tempo.MetronomeMark(number=round(piece.tempo, 2), referent=1.0))
            part.insert(0, meter.TimeSignature(f"{piece.time_signature[0]}/{piece.time_signature[1]}"))
            if m21_key is not None:
                part.insert(0, m21key.Key(m21_key.tonic, m21_key.mode))
            lane_pitches = [n.pitch for _, _, ns in lane for n in ns] or [60]
            if sum(lane_pitches) / len(lane_pitches) < 57:
                part.insert(0, clef.BassClef())
            else:
                part.insert(0, clef.TrebleClef())
            for start, dur, ns in lane:
                # octave given apart: as text, 'C-1' (MIDI 0) would read as C-flat 1
                spelled = [m21pitch.Pitch(names[x.pitch % 12], octave=x.pitch // 12 - 1) for x in ns]
                if len(ns) == 1:
                    el = m21note.Note(spelled[0], quarterLength=dur)
                else:
                    el = m21chord.Chord(spelled, quarterLength=dur)
                el.volume.velocity = ns[0].velocity
                part.insert(start + shift, el)
            if lane:
                end = max(s + d for s, d, _ in lane) + shift
                full = -(-end // bar) * bar
                if full > end + 1e-9:
                    part.insert(end, m21note.Rest(quarterLength=full - end))
            if shift:
                part = _with_pickup_bar(part, shift)
            score.insert(0, part)
            first = False
    return score


def _with_pickup_bar(part, shift: float):
    """Turn the first ``shift`` quarter notes of silence into an incomplete (pickup) first bar."""
    from music21 import note as m21note, stream as m21stream

    measured = part.makeMeasures()
    # a note held across a bar line must become tied notes, or its bar is overfull and every
    # later note of the part is written a beat (or more) late in MusicXML
    measured.makeTies(inPlace=True)
    measured.partName, measured.id = part.partName, part.id
    measures = list(measured.getElementsByClass(m21stream.Measure))
    if not measures:
        return part
    m1 = measures[0]
    if any(el.offset < shift - 1e-9 for el in m1.notes):
        return measured
    if not m1.notes:
        # this part is silent during the pickup (a bass that enters on the downbeat): its first
        # bar is one rest as long as the pickup, so its later notes line up with the other parts
        for el in list(m1.notesAndRests):
            m1.remove(el)
        m1.insert(0, m21note.Rest(quarterLength=float(m1.barDuration.quarterLength) - shift))
    else:
        for el in list(m1.getElementsByClass(m21note.Rest)):
            if el.offset < shift - 1e-9:
                m1.remove(el)
        for el in list(m1.notesAndRests):
            el.offset = el.offset - shift
    m1.paddingLeft = shift
    # later bars keep their offsets relative to the part: move them all left by the gap
    for m in measures[1:]:
        measured.setElementOffset(m, m.offset - shift)
    return measured
