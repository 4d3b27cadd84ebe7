"""Stand-ins for the music files a learner brings, written into a folder so a lesson can load them.

A course that only ever loads its own tidy data hides what real files look like. These three files
are written the way people's files are:

* ``played.mid`` — a melody played on a keyboard and recorded by a sequencer: onsets a few ticks
  off the beat, notes released early, a title with accented and non-Latin letters (UTF-8), a change
  from 4/4 to 3/4, and a drum track whose hits are note-on and note-off on the same tick;
* ``tunebook.abc`` — a folk-site tunebook with two tunes (``X:1``, ``X:2``), accidentals that last
  to the bar line (ABC 2.1) and a key change inside the second tune;
* ``band.musicxml`` — a notation program's export: a flute, a B♭ clarinet written a tone higher
  than it sounds (a transposing instrument) and a drum-set part of unpitched notes.

Each file is generated from the text or events below (the project keeps no binary files), so a
reader can see exactly what is inside it.

Lesson: 01_representation
"""

from __future__ import annotations

import os
from pathlib import Path

from .files import atomic_write

__all__ = ["write_example_files", "EXAMPLE_FILES", "TUNEBOOK_ABC", "BAND_MUSICXML"]

#: name -> what it stands for
EXAMPLE_FILES = {
    "played.mid": "a melody played on a keyboard (off-grid timing, UTF-8 title, meter change, drum hits)",
    "tunebook.abc": "an ABC tunebook with two tunes and a key change inside the second",
    "band.musicxml": "a MusicXML export: flute, B♭ clarinet (transposing) and a drum set",
}

TUNEBOOK_ABC = """\
%abc-2.1
X:1
T:Morning Walk
M:4/4
L:1/8
K:D
A,2|D2 F2 A2 FA|B2 ^G2 A4|d2 B2 A2 F2|E6 A,2|
D2 F2 A2 FA|B2 ^G2 A2 =G2|F2 E2 D2 E2|D6|]

X:2
T:The Lantern Waltz
M:3/4
L:1/4
K:G
D|G B d|c A F|G3-|G2 B|
[K:Em]E G B|^A2 B|E3-|E2|]
"""

BAND_MUSICXML = """\
<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE score-partwise PUBLIC "-//Recordare//DTD MusicXML 4.0 Partwise//EN"
  "http://www.musicxml.org/dtds/partwise.dtd">
<score-partwise version="4.0">
  <work><work-title>Band Sketch</work-title></work>
  <part-list>
    <score-part id="P1"><part-name>Flute</part-name>
      <score-instrument id="P1-I1"><instrument-name>Flute</instrument-name></score-instrument>
      <midi-instrument id="P1-I1"><midi-channel>1</midi-channel><midi-program>74</midi-program></midi-instrument>
    </score-part>
    <score-part id="P2"><part-name>Clarinet in B♭</part-name>
      <score-instrument id="P2-I1"><instrument-name>Clarinet in Bb</instrument-name></score-instrument>
      <midi-instrument id="P2-I1"><midi-channel>2</midi-channel><midi-program>72</midi-program></midi-instrument>
    </score-part>
    <score-part id="P3"><part-name>Drumset</part-name>
      <score-instrument id="P3-I36"><instrument-name>Bass Drum 1</instrument-name></score-instrument>
      <score-instrument id="P3-I39"><instrument-name>Acoustic Snare</instrument-name></score-instrument>
      <midi-instrument id="P3-I36"><midi-channel>10</midi-channel><midi-unpitched>37</midi-unpitched></midi-instrument>
      <midi-instrument id="P3-I39"><midi-channel>10</midi-channel><midi-unpitched>39</midi-unpitched></midi-instrument>
    </score-part>
  </part-list>
  <part id="P1">
    <measure number="1">
      <attributes><divisions>1</divisions><key><fifths>0</fifths><mode>major</mode></key>
        <time><beats>4</beats><beat-type>4</beat-type></time><clef><sign>G</sign><line>2</line></clef></attributes>
      <note><pitch><step>C</step><octave>5</octave></pitch><duration>1</duration><type>quarter</type></note>
      <note><pitch><step>E</step><octave>5</octave></pitch><duration>1</duration><type>quarter</type></note>
      <note><pitch><step>G</step><octave>5</octave></pitch><duration>1</duration><type>quarter</type></note>
      <note><pitch><step>E</step><octave>5</octave></pitch><duration>1</duration><type>quarter</type></note>
    </measure>
    <measure number="2">
      <note><pitch><step>F</step><octave>5</octave></pitch><duration>2</duration><type>half</type></note>
      <note><pitch><step>D</step><octave>5</octave></pitch><duration>2</duration><type>half</type></note>
    </measure>
    <measure number="3">
      <note><pitch><step>C</step><octave>5</octave></pitch><duration>4</duration><type>whole</type></note>
    </measure>
  </part>
  <part id="P2">
    <measure number="1">
      <attributes><divisions>1</divisions><key><fifths>2</fifths><mode>major</mode></key>
        <time><beats>4</beats><beat-type>4</beat-type></time><clef><sign>G</sign><line>2</line></clef>
        <transpose><diatonic>-1</diatonic><chromatic>-2</chromatic></transpose></attributes>
      <note><pitch><step>D</step><octave>4</octave></pitch><duration>2</duration><type>half</type></note>
      <note><pitch><step>F</step><alter>1</alter><octave>4</octave></pitch><duration>2</duration><type>half</type></note>
    </measure>
    <measure number="2">
      <note><pitch><step>G</step><octave>4</octave></pitch><duration>2</duration><type>half</type></note>
      <note><pitch><step>E</step><octave>4</octave></pitch><duration>2</duration><type>half</type></note>
    </measure>
    <measure number="3">
      <note><pitch><step>D</step><octave>4</octave></pitch><duration>4</duration><type>whole</type></note>
    </measure>
  </part>
  <part id="P3">
    <measure number="1">
      <attributes><divisions>1</divisions><time><beats>4</beats><beat-type>4</beat-type></time>
        <clef><sign>percussion</sign></clef></attributes>
      <note><unpitched><display-step>F</display-step><display-octave>4</display-octave></unpitched>
        <duration>1</duration><instrument id="P3-I36"/><type>quarter</type></note>
      <note><unpitched><display-step>C</display-step><display-octave>5</display-octave></unpitched>
        <duration>1</duration><instrument id="P3-I39"/><type>quarter</type></note>
      <note><unpitched><display-step>F</display-step><display-octave>4</display-octave></unpitched>
        <duration>1</duration><instrument id="P3-I36"/><type>quarter</type></note>
      <note><unpitched><display-step>C</display-step><display-octave>5</display-octave></unpitched>
        <duration>1</duration><instrument id="P3-I39"/><type>quarter</type></note>
    </measure>
    <measure number="2">
      <note><rest measure="yes"/><duration>4</duration></note>
    </measure>
    <measure number="3">
      <note><rest measure="yes"/><duration>4</duration></note>
    </measure>
  </part>
</score-partwise>
"""

#: The played melody: (pitch, start tick, length in ticks) at 480 ticks per quarter note, as a
#: sequencer recorded it — a C-major tune in 4/4 then 3/4 (from quarter 8), each note a few ticks
#: early or late and released before the next one.
PLAYED_TPB = 480
PLAYED_NOTES = [
    (60, 0, 430), (64, 493, 410), (67, 951, 452), (72, 1452, 380),
    (71, 1930, 880), (67, 2905, 420), (69, 3355, 400),
    (65, 3860, 430), (64, 4322, 400), (62, 4811, 410),
    (60, 5276, 1300),
]
PLAYED_TITLE = "Für Elise – 夜曲 (my take)"


def _played_midi_bytes() -> bytes:
    import io

    import mido

    mid = mido.MidiFile(type=1, ticks_per_beat=PLAYED_TPB)
    conductor = mido.MidiTrack()

    def utf8(text: str) -> str:
        # mido writes meta text as Latin-1; this hands it the UTF-8 bytes, as modern sequencers write
        return text.encode("utf-8").decode("latin-1")

    conductor.append(mido.MetaMessage("track_name", name=utf8(PLAYED_TITLE), time=0))
    conductor.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(96), time=0))
    conductor.append(mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0))
    conductor.append(mido.MetaMessage("time_signature", numerator=3, denominator=4, time=8 * PLAYED_TPB))
    mid.tracks.append(conductor)

    def track(name, notes, channel):
        tr = mido.MidiTrack()
        tr.append(mido.MetaMessage("track_name", name=utf8(name), time=0))
        events = []
        for pitch, start, length in notes:
            events.append((start, 1, pitch))
            events.append((start + length, 0, pitch))
        events.sort(key=lambda e: (e[0], -e[1]))  # at one tick, a zero-length hit's note-on comes first
        now = 0
        for t, is_on, pitch in events:
            tr.append(mido.Message("note_on" if is_on else "note_off", note=pitch, channel=channel,
                                   velocity=72 if is_on else 0, time=t - now))
            now = t
        return tr

    mid.tracks.append(track("Flöte", PLAYED_NOTES, 0))
    # a drum machine's hits: note-on and note-off on the same tick (zero length), kick on every beat
    kicks = [(36, beat * PLAYED_TPB, 0) for beat in range(8)]
    mid.tracks.append(track("Drums", kicks, 9))
    buffer = io.BytesIO()
    mid.save(file=buffer)
    return buffer.getvalue()


def write_example_files(folder: str | os.PathLike = "my_music", *, overwrite: bool = True) -> dict[str, Path]:
    """Write the three example files into ``folder`` (created if needed) and return their paths.

    Returns:
        ``{"played": Path, "tunebook": Path, "musicxml": Path}``.

    The files are this module's own; with ``overwrite=True`` (the default) re-running a lesson
    cell rewrites them, and nothing else in the folder is touched. With ``overwrite=False`` an
    existing file of the same name raises FileExistsError.
    """
    from .files import check_can_write

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    contents = {
        "played": ("played.mid", _played_midi_bytes()),
        "tunebook": ("tunebook.abc", TUNEBOOK_ABC.encode("utf-8")),
        "musicxml": ("band.musicxml", BAND_MUSICXML.encode("utf-8")),
    }
    paths = {}
    for key, (name, data) in contents.items():
        path = check_can_write(out / name, overwrite)
        atomic_write(path, lambda fh, data=data: fh.write(data))
        paths[key] = path
    return paths
