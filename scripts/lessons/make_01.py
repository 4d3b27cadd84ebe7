"""Creates solutions/01_representation.ipynb (run once; afterwards the notebook is the source)."""
import sys
sys.path.insert(0, "scripts")
from nbtools import write_notebook

cells = [
("md", r"""
# 01 · Representation: from sound to symbols a model can learn

A model never hears music. It sees numbers. *Which* numbers — the **representation** — decides what
the model can learn, what it can never express, and how hard its job is. This lesson takes one piece
of music through every representation the course uses, listening at every step.

**You will learn to**
1. convert between MIDI pitch, note names and frequency,
2. read durations in quarter notes and turn them into seconds with a tempo,
3. load a real MIDI file and a real score into notes,
4. draw a piece as a piano roll and encode it as event tokens on a 16th-note grid (the input of lesson 03),
5. transpose music and say what a key is,
6. explain why the choice of representation shapes what a model can learn.

⏱ **Time:** about 60 minutes (4 exercises).
"""),
("code", r"""
import numpy as np
import matplotlib.pyplot as plt

from musegen_helpers import (Note, Piece, melody, play, show_score, plot_piano_roll,
                             note_name, pitch_from_name, pitch_to_frequency, load_midi, save_midi)
from musegen_helpers.config import FAST, pick
from musegen_helpers.lessons.lesson01 import ____, q1, q2, q3, q4
"""),
("md", r"""
## 1. Pitch: MIDI numbers, names and frequencies

A piano key is a **MIDI pitch**: a whole number, one per key, white and black alike. Middle C is 60;
each step of 1 is a **semitone**, and 12 semitones make an **octave** — the same note name, twice the
frequency. In equal temperament every semitone multiplies the frequency by the same ratio, $2^{1/12}$,
and the A above middle C (pitch 69) is tuned to 440 Hz:

$$ f(p) = 440\ \text{Hz} \cdot 2^{(p - 69)/12} $$
"""),
("code", r"""
for pitch in [60, 64, 67, 69, 72, 81]:
    print(f"pitch {pitch:3d} = {note_name(pitch):4s} = {pitch_to_frequency(pitch):7.2f} Hz")
"""),
("md", r"""
Hear the octave: A4 then A5 (twice the frequency) then both together — they blend into one sound.
"""),
("code", r"""
octave = Piece([Note(69, 0, 1), Note(81, 1, 1), Note(69, 2, 2), Note(81, 2, 2)])
play(octave)
"""),
("md", r"""
What the synthesiser makes of A4: the waveform repeats every 1/440 s, and its spectrum has peaks at
440 Hz and at whole multiples of it (the *harmonics*, which give an instrument its colour). A pitch
is the lowest of those peaks.
"""),
("code", r"""
from musegen_helpers.audio import render, SAMPLE_RATE

wave = render(Note(69, 0, 1))
spectrum = np.abs(np.fft.rfft(wave))
freqs = np.fft.rfftfreq(len(wave), 1 / SAMPLE_RATE)

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 2.8))
t_ms = np.arange(400) / SAMPLE_RATE * 1000
ax1.plot(t_ms, wave[2000:2400]); ax1.set_xlabel("time (ms)"); ax1.set_title("A4: waveform")
ax2.plot(freqs, spectrum); ax2.set_xlim(0, 2500); ax2.set_xlabel("frequency (Hz)")
ax2.set_title(f"A4: spectrum, strongest peak at {freqs[spectrum.argmax()]:.0f} Hz")
plt.tight_layout()
"""),
("md", r"""
### Exercise 1 — from pitch to frequency

Write `frequency(pitch)` that returns the frequency in Hz of a MIDI pitch, using the formula above.
(Do not call `pitch_to_frequency` — write the formula.) The check calls your function on several
pitches it keeps to itself.
"""),
("code", r"""
def frequency(pitch):
    ### BEGIN SOLUTION
    return 440.0 * 2 ** ((pitch - 69) / 12)
    ### END SOLUTION

q1.check(frequency)
"""),
("code", r"""
# q1.hint()
# q1.solution()
"""),
("md", r"""
## 2. Time: durations, the beat and tempo

Musicians count time in **beats**, not seconds. This course measures every start and duration in
**quarter notes**: a quarter note lasts 1, an eighth 0.5, a sixteenth 0.25, a half note 2, a dotted
quarter 1.5. The **tempo** (beats per minute) turns beats into seconds; the **time signature** groups
beats into bars (4/4: four quarter notes a bar; 3/4: three; 6/8: six eighths, felt as two beats).

The same four notes at two tempos — the notes are identical, only the clock changes:
"""),
("code", r"""
rhythm = melody(["G4", "G4", "G4", "Eb4"], durations=[0.5, 0.5, 0.5, 2.5])
slow, fast = rhythm.with_notes(rhythm.notes, tempo=60), rhythm.with_notes(rhythm.notes, tempo=180)
print(f"at  60 BPM the motif lasts {slow.duration_seconds:.2f} s; at 180 BPM {fast.duration_seconds:.2f} s")
play(slow)
"""),
("code", r"""
play(fast)
"""),
("md", r"""
### Exercise 2 — a C major scale

A major scale climbs in whole steps (2 semitones) and half steps (1): **W W H W W W H**.
Write the MIDI pitches of the C major scale from middle C (60) up to the C an octave above, as a list
of 8 numbers, lowest first.
"""),
("code", r"""
### BEGIN SOLUTION
c_major_scale = [60, 62, 64, 65, 67, 69, 71, 72]
### END SOLUTION
q2.check(c_major_scale)
"""),
("md", r"""
Listen to the reference scale (your own answer plays once you have one), as eighth notes:
"""),
("code", r"""
scale = melody(q2.answer_or_reference(c_major_scale), durations=0.5)
play(scale)
"""),
("md", r"""
## 3. Reading real music: a MIDI file and a score

**MIDI files** store *performance events* — "key 60 down at tick 0", "key 60 up at tick 480" — in
*ticks*, plus a header saying how many ticks make a quarter note. They carry no notation: no
clefs, no note spelling (is 61 a C♯ or a D♭?), no beams. **Scores** (MusicXML, ABC, Humdrum) carry
notation: bars, key signatures, spelling, ties. The course reads both into the same `Piece`.

Our corpora come preprocessed in `datasets/` (built from music21's corpus; see `datasets/MANIFEST.md`).
First a folk song from the Essen collection:
"""),
("code", r"""
from musegen_helpers.datasets import load_melodies, load_chorales

melodies = load_melodies()
print(len(melodies), "melodies, e.g.", {k: melodies.meta[0][k] for k in ("id", "title", "key", "meter", "bars")})

# pick a short tune in 4/4 without an upbeat, so its bars are easy to count
tune = next(p for p in melodies if p.time_signature == (4, 4) and p.n_bars <= 12 and not p.meta.get("pickup"))
print(tune)
play(tune)
"""),
("code", r"""
show_score(tune)
"""),
("md", r"""
Now a Bach chorale: we save it as a MIDI file and read the file back, as you would with any MIDI file
you download. Each voice becomes a track; `load_midi` turns ticks into quarter notes.
"""),
("code", r"""
from pathlib import Path

chorales = load_chorales()
chorale = chorales[0]
Path("my_music").mkdir(exist_ok=True)
midi_path = save_midi(chorale, "my_music/chorale.mid", overwrite=True)  # re-running replaces this cell's own file

from_file = load_midi(midi_path)
print(from_file)
print("tempo:", from_file.tempo, "BPM; time signature:", from_file.time_signature, "; parts:", from_file.parts)
print("same notes as before saving:",
      sorted((n.pitch, n.start, n.duration) for n in from_file) == sorted((n.pitch, n.start, n.duration) for n in chorale))
play(from_file)
"""),
("md", r"""
A broken or wrong file gets a clear message, not a crash. Try it:
"""),
("code", r"""
from musegen_helpers import MusicFileError

Path("my_music/not_midi.mid").write_text("this is not a MIDI file")
try:
    load_midi("my_music/not_midi.mid")
except MusicFileError as err:
    print("MusicFileError:", err)
"""),
("md", r"""
## 4. Three pictures of the same music

### 4a. The score
Made for human performers: pitch spelling, bars, beams, key signature.
"""),
("code", r"""
excerpt = chorale.slice(0, 8)
show_score(excerpt)
"""),
("md", r"""
### 4b. The piano roll
A grid: one row per pitch, one column per time step (here a 16th note). A cell is *on* while that pitch
sounds. Any number of voices fit — a piano roll is naturally **polyphonic** — and every piece of the
same length has the same shape, which is what a convolutional network (lesson 04's GAN) wants. But
look closely: two repeated notes of the same pitch touch and become one long bar, unless we also keep
a second grid of **onsets**.
"""),
("code", r"""
from musegen_helpers.representation import piano_roll, piece_from_piano_roll

roll = piano_roll(excerpt, steps_per_quarter=4, lowest_pitch=36, highest_pitch=84)
print("piano roll shape (pitches, steps):", roll.shape, "— cells on:", roll.sum())

fig, axes = plt.subplots(1, 2, figsize=(12, 3))
axes[0].imshow(roll, origin="lower", aspect="auto", cmap="Greys", interpolation="nearest",
               extent=(0, roll.shape[1], 36 - 0.5, 84 + 0.5))
axes[0].set_title("the array (16th-note steps)"); axes[0].set_xlabel("step"); axes[0].set_ylabel("MIDI pitch")
plot_piano_roll(excerpt, ax=axes[1], title="drawn as notes")
plt.tight_layout()
"""),
("code", r"""
# Back from the grid to notes: without onsets, repeated notes merge
merged = piece_from_piano_roll(roll, 4, lowest_pitch=36)
roll_, onsets = piano_roll(excerpt, 4, 36, 84, onsets=True)
exact = piece_from_piano_roll(roll_, 4, lowest_pitch=36, onsets=onsets)
print(f"original: {len(excerpt)} notes; from the roll alone: {len(merged)}; with onsets: {len(exact)}")
"""),
("md", r"""
### 4c. Event tokens on a 16th-note grid
For a **melody** — one note at a time — we can write one *token* per 16th-note step:

* a MIDI pitch (0–127): a new note starts;
* `_` (**HOLD**): keep doing what you were doing — hold the note, or stay silent;
* `R` (**REST**): silence starts;
* `|` (**END**): the tune is over.

A quarter-note C4 is `C4 _ _ _`; an eighth rest is `R _`. This is the language lesson 02's Markov chain
and lesson 03's LSTM speak: predict the next token, again and again.
"""),
("code", r"""
from musegen_helpers.representation import melody_to_tokens, tokens_to_melody, token_names, monophonic, HOLD, REST, END

tokens = melody_to_tokens(tune, steps_per_quarter=4, add_end=True)
steps_per_bar = int(tune.bar_length * 4)   # 16 sixteenth notes in a 4/4 bar
print(len(tokens), "tokens; the first two bars:")
print(" ".join(token_names(tokens[:steps_per_bar])))
print(" ".join(token_names(tokens[steps_per_bar:2 * steps_per_bar])))
print("as numbers:", tokens[:16], f"(HOLD={HOLD}, REST={REST}, END={END})")
"""),
("code", r"""
decoded = tokens_to_melody(tokens, 4, tempo=tune.tempo, time_signature=tune.time_signature)
same = [(n.pitch, n.start, n.duration) for n in decoded] == [(n.pitch, n.start, n.duration) for n in monophonic(tune)]
print("decoding the tokens gives back every note:", same)
play(decoded)
"""),
("md", r"""
### Exercise 3 — tokens by hand

Encode this one-bar melody as tokens on the 16th-note grid (write token names as one string, separated by
spaces, as `token_names` prints them):

*E4 quarter note, D4 eighth note, C4 eighth note, an eighth-note rest, G4 dotted quarter note.*
"""),
("code", r"""
bar = melody(["E4", "D4", "C4", None, "G4"], durations=[1, 0.5, 0.5, 0.5, 1.5])
show_score(bar)
"""),
("code", r"""
### BEGIN SOLUTION
my_tokens = "E4 _ _ _ D4 _ C4 _ R _ G4 _ _ _ _ _"
### END SOLUTION
q3.check(my_tokens)
"""),
("md", r"""
**What each representation keeps and loses**

| | score | piano roll | event tokens |
|---|---|---|---|
| several voices at once | ✓ | ✓ | ✗ (one note at a time) |
| repeated notes | ✓ | only with an onset grid | ✓ |
| velocity (loudness) | dynamics marks | can (values instead of on/off) | ✗ |
| note spelling (C♯ vs D♭), bars | ✓ | ✗ | ✗ |
| size | small | pitches × steps, mostly empty | one token per step |
| natural model | — | convolution (GAN, lesson 04) | sequence model (Markov, LSTM) |

## 5. Transposition and key

**Transposing** moves every note by the same number of semitones. The tune keeps its shape — the
intervals between notes — and only its **key** changes: the home note (*tonic*) and scale the tune
lives in. Listen to our folk tune a fifth higher:
"""),
("code", r"""
print("original key:", tune.key)
higher = tune.transpose(7)
print("transposed +7:", higher.key)
play(higher)
"""),
("md", r"""
Because transposition keeps a melody's shape, it is a free way to get **more training data** (play every
tune in every key) — or, the other way round, to move every tune into one key so a model has less to learn.
Both are representation choices, and lessons 03 and 04 make them.

### Exercise 4 — into A minor

The melody below is in E minor (tonic E). Transpose it so it is in **A minor**, choosing the smaller
of the two possible moves (up or down). `transpose(semitones)` returns a new piece.
"""),
("code", r"""
e_minor_tune = melody(["E4", "F#4", "G4", "B4", "A4", "G4", "F#4", "E4"],
                      durations=[1, 0.5, 0.5, 1, 0.5, 0.5, 1, 2], key="E minor")
play(e_minor_tune)
"""),
("code", r"""
### BEGIN SOLUTION
a_minor_tune = e_minor_tune.transpose(5)
### END SOLUTION
q4.check(a_minor_tune)
"""),
("md", r"""
## 6. Why the representation shapes what a model can learn

* A **token** model predicts one step at a time: it can only make monophonic melodies, but it can make
  them as long as it likes, and it sees rhythm explicitly (how many HOLDs follow a pitch).
* A **piano-roll** model sees a fixed-size picture: polyphony is free, but it learns "an image of a bar",
  so long-range form is out of reach, and it must learn by itself that notes are contiguous runs.
* The **grid** decides what rhythms exist: a 16th-note grid cannot write a triplet exactly (it gets rounded),
  and a finer grid makes sequences longer and harder to learn.
* The **vocabulary** decides what is easy: absolute MIDI pitches make "the same tune in another key" a
  different sequence; intervals would not — at the cost of forgetting the key.

Here is what the 16th-note grid does to a triplet:
"""),
("code", r"""
triplets = melody(["C5", "D5", "E5", "F5", "G5", "A5"], durations=[1/3] * 6)
on_grid = tokens_to_melody(melody_to_tokens(triplets))
print("triplet starts:", [round(n.start, 3) for n in triplets])
print("on the grid:   ", [n.start for n in on_grid])
fig, axes = plt.subplots(1, 2, figsize=(10, 2.4), sharey=True)
plot_piano_roll(triplets, ax=axes[0], title="eighth-note triplets")
plot_piano_roll(on_grid, ax=axes[1], title="after the 16th-note grid")
plt.tight_layout()
"""),
("md", r"""
## Recap

* MIDI pitch is a key number (60 = C4); frequency doubles every 12 semitones; $f = 440 \cdot 2^{(p-69)/12}$.
* Times are in quarter notes; tempo turns them into seconds.
* `load_midi` and `load_score` read files into a `Piece`; broken files give a clear `MusicFileError`.
* A **piano roll** is a pitch × time grid (polyphonic, fixed size, needs onsets for repeated notes);
  **event tokens** are one symbol per 16th-note step (pitch, HOLD, REST, END) for melodies.
* Transposition keeps a melody's shape and changes its key.
* Each representation makes some music easy, some impossible — choose it with the model in mind.

**Next:** [02 · Rule-based composer](02_rule_based.ipynb) — music from rules, then from a Markov chain.

## Further reading

* Meinard Müller, *Fundamentals of Music Processing* (Springer, 2nd ed. 2021), chapter 1 — music
  representations, with the [FMP notebooks](https://www.audiolabs-erlangen.de/FMP).
* The [MIDI 1.0 specification](https://midi.org/specifications) (MIDI Association) — what is really in a `.mid` file.
* Jean-Pierre Briot, Gaëtan Hadjeres, François-David Pachet, *Deep Learning Techniques for Music
  Generation* (Springer, 2020), chapter 4 — representations used by generative models.
* Hao-Wen Dong et al., "MusPy: A Toolkit for Symbolic Music Generation" (ISMIR 2020) — representations and metrics in one library.
"""),
]

write_notebook("solutions/01_representation.ipynb", cells, overwrite="--force" in sys.argv)
