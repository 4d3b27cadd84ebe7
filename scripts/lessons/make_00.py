"""Creates solutions/00_welcome.ipynb (run once; afterwards the notebook is the source)."""
import sys
sys.path.insert(0, "scripts")
from nbtools import write_notebook

cells = [
("md", r"""
# 00 · Welcome to musegen

**Music generation with machine learning, by doing it.** In every lesson of this course you will
*hear* music, *see* it as sheet music and as a piano roll, and *change* it — first with rules from
music theory, then with models that learn from real music: a Markov chain, an LSTM and a small GAN.
The last lesson asks the question every generator must answer: *is this any good?*

**In this notebook you will**
1. run the course and learn what "fast mode" is,
2. hear your first note and see your first score,
3. meet a real piece of music as data,
4. try the exercise system: `check()`, `hint()` and `solution()`.

⏱ **Time:** about 15 minutes.
"""),
("md", r"""
## How to run the course

* **JupyterLab on your machine.** In the course folder run `make lab`. It creates a virtual
  environment in `.venv`, installs everything, and opens the lessons. Run cells from top to bottom
  with <kbd>Shift</kbd>+<kbd>Enter</kbd>.
* **Colab.** Use the "Open in Colab" link of each lesson; its first cell installs the course there.
* **Fast mode.** With the environment variable `MUSEGEN_FAST=1` (or `CI=true`) the lessons use less
  data and fewer training epochs, so a whole lesson fits into a class. The *same* code runs either way;
  only sizes change. The tests of the course always run in fast mode.

Everything the lessons need lives in a small package, `musegen_helpers`. The next cell imports it.
"""),
("code", r"""
from musegen_helpers import Note, Piece, melody, play, show_score, plot_piano_roll, note_name
from musegen_helpers.config import FAST, pick

print("fast mode is", "ON" if FAST else "off")
"""),
("md", r"""
## A first sound

A note, to a computer, is four numbers:

| field | meaning | unit |
|---|---|---|
| `pitch` | which key on the piano | MIDI number, 0–127; 60 is middle C (C4), 69 is the A at 440 Hz (A4) |
| `start` | when it begins | quarter notes from the start |
| `duration` | how long it lasts | quarter notes |
| `velocity` | how hard it is struck | 1–127 |

Run the next cell and press ▶ on the player.
"""),
("code", r"""
a4 = Note(pitch=69, start=0, duration=2)
print(a4)
play(a4)
"""),
("md", r"""
One note is not music yet. `melody()` strings notes together, one after another; it accepts MIDI
numbers or note names:
"""),
("code", r"""
arpeggio = melody(["C4", "E4", "G4", "C5", "G4", "E4", "C4"], durations=[0.5] * 6 + [1.5], tempo=100)
print(arpeggio)
play(arpeggio)
"""),
("md", r"""
## A first score

The same notes as sheet music (engraved by [verovio](https://www.verovio.org), right in the
notebook) and as a *piano roll* — time runs to the right, pitch goes up, and each bar is a note.
The piano roll is how most models in this course will see music.
"""),
("code", r"""
show_score(arpeggio)
"""),
("code", r"""
fig, ax = plot_piano_roll(arpeggio, figsize=(7, 2.5))
"""),
("md", r"""
## Real music as data

The course learns from real music: German folk songs from the Essen collection and the four-part
chorales of J. S. Bach, both from the corpus that ships with [music21](https://web.mit.edu/music21/).
Here is one chorale: four voices — soprano, alto, tenor and bass — each in its own colour.
"""),
("code", r"""
import music21
from musegen_helpers import from_music21

chorale = from_music21(music21.corpus.parse("bach/bwv66.6"))
print(chorale)
print("first three notes:", chorale.notes[:3])
play(chorale)
"""),
("code", r"""
fig, ax = plot_piano_roll(chorale, title="Bach, chorale BWV 66.6")
"""),
("code", r"""
show_score(chorale.slice(0, 9))   # the first two bars and the pickup (9 quarter notes)
"""),
("md", r"""
## How exercises work

Each lesson has exercises. You replace `____` with your answer and run the check in the cell:

* `q1.check(answer)` says ✓ when you are right, and *why* you are wrong when you are not — in music terms;
* `q1.hint()` gives a hint (call it again for a stronger one);
* `q1.solution()` shows a worked answer, when you want it.

A `____` that you have not replaced yet is not an error: the check just says "not attempted yet".
"""),
("code", r"""
from musegen_helpers.lessons.lesson00 import ____, q1, q2, q3
"""),
("md", r"""
### Exercise 1 — the A above middle C

Middle C is MIDI pitch 60. Counting one number per key (white *and* black), which MIDI pitch is the
A just above it — the A that orchestras tune to (440 Hz)?
"""),
("code", r"""
### BEGIN SOLUTION
a_above_middle_c = 69
### END SOLUTION
q1.check(a_above_middle_c)
"""),
("code", r"""
# q1.hint()       # uncomment for a hint
# q1.solution()   # uncomment to see the answer
"""),
("md", r"""
### Exercise 2 — a C major chord

A major triad stacks a major third (4 semitones) and a minor third (3 semitones) on its root.
Write the MIDI pitches of the C major triad with middle C as its lowest note, lowest first.
"""),
("code", r"""
### BEGIN SOLUTION
c_major_triad = [60, 64, 67]
### END SOLUTION
q2.check(c_major_triad)
"""),
("md", r"""
### Exercise 3 — your first tune

Use `melody()` to write the opening of *Twinkle, Twinkle, Little Star*: C4 C4 G4 G4 A4 A4 as
quarter notes (duration 1), then G4 as a half note (duration 2). Then listen to it.
"""),
("code", r"""
### BEGIN SOLUTION
twinkle = melody(["C4", "C4", "G4", "G4", "A4", "A4", "G4"], durations=[1, 1, 1, 1, 1, 1, 2])
### END SOLUTION
q3.check(twinkle)
"""),
("code", r"""
# Whatever you wrote above (or the reference answer, until you have written one):
play(q3.answer_or_reference(twinkle))
"""),
("md", r"""
## Keep what you make

`save_midi` writes a MIDI file that any music program can open. It never replaces a file that is
already there unless you say `overwrite=True` — your work is not lost by accident.
"""),
("code", r"""
from pathlib import Path
from musegen_helpers import save_midi, load_midi

folder = Path("my_music")
folder.mkdir(exist_ok=True)
# overwrite=True: running this cell again replaces the file that this same cell made
path = save_midi(arpeggio, folder / "arpeggio.mid", overwrite=True)
print("saved", path, "and read back:", load_midi(path))

try:
    save_midi(arpeggio, path)          # without overwrite=True ...
except FileExistsError as err:
    print("refused:", err)             # ... the course refuses and says what to do
"""),
("md", r"""
## Recap

* A note is a pitch (MIDI number), a start and a duration (in quarter notes) and a velocity.
* `play()`, `show_score()` and `plot_piano_roll()` let you hear and see any piece in one line.
* The course's data is real music: Essen folk songs and Bach chorales.
* Exercises: replace `____`, run `check()`; ask for `hint()` or `solution()` when stuck.

**Next:** [01 · Representation](01_representation.ipynb) — how music becomes numbers a model can learn from.

## Further reading

* David Cope, *Computer Models of Musical Creativity* (MIT Press, 2005) — the history and ideas behind
  algorithmic composition.
* [Magenta](https://magenta.tensorflow.org) — Google's research project on music and machine learning.
* Jean-Pierre Briot, Gaëtan Hadjeres, François-David Pachet, *Deep Learning Techniques for Music
  Generation* (Springer, 2020) — a survey of the models this course builds.
"""),
]

write_notebook("solutions/00_welcome.ipynb", cells, overwrite="--force" in sys.argv)
