"""Creates solutions/02_rule_based.ipynb (run once; afterwards the notebook is the source).

    .venv/bin/python scripts/lessons/make_02.py --force
"""
import sys
sys.path.insert(0, "scripts")
from nbtools import write_notebook

cells = [
("md", r"""
# 02 · Rules and chains: composing with music theory, then learning from folk tunes

Long before neural networks, people made music with **procedures**: dice that pick bars, textbooks of
rules for writing against a melody, programs that recombine a composer's fragments. This lesson builds
such a composer from music-theory rules, one rule at a time, listening to what each rule adds. Then it
lets a **Markov chain** learn "what comes next" from thousands of folk tunes, and measures how well it
predicts tunes it has never seen — and when it starts copying instead of composing.

**You will learn to**
1. turn music theory into rules a program can follow: scale, chord tones on strong beats, passing and
   neighbour tones, stepwise motion, a cadence, rhythm;
2. hear why each rule matters by breaking it on purpose;
3. check voice leading (parallel fifths and octaves) in four-part harmony;
4. count note-to-note transitions and sample a Markov chain of order 1 to 5 learnt from folk tunes;
5. judge a model by its **held-out bits per token**, and recognise when a "better" model just copies.

⏱ **Time:** about 75 minutes (5 exercises, two widgets to play with).
"""),
("code", r"""
import numpy as np
import matplotlib.pyplot as plt
import ipywidgets as widgets
from IPython.display import display

from musegen_helpers import Note, Piece, melody, note_name, play, plot_piano_roll, show_score
from musegen_helpers.config import FAST, pick
from musegen_helpers.rules import PRESETS, RuleSet, check_melody, compose, describe_rules, explain
from musegen_helpers.theory import check_voice_leading, roman_to_chord, voices_to_piece
from musegen_helpers.widgets import music_controls
from musegen_helpers.lessons.lesson02 import ____, q1, q2, q3, q4, q5

SEED = 7  # change it to hear other pieces made by the same rules


def listen(piece, title=None):
    "Play a piece and draw its piano roll underneath."
    display(play(piece))
    plot_piano_roll(piece, figsize=(10, 2.6), title=title or piece.title)
    plt.show()
"""),
("md", r"""
## 1. Composing by rule: a very short history

* **Mozart's dice game** (*Musikalisches Würfelspiel*, published 1792 and attributed to Mozart): a table
  of 176 pre-written bars. For each of the 16 bars of a minuet you roll two dice, and the total (2–12)
  picks one of 11 versions of that bar. Every version of bar *k* has the same harmony, so any
  combination works — $11^{16} \approx 4.6 \times 10^{16}$ minuets from one table.
* **Species counterpoint** (Johann Joseph Fux, *Gradus ad Parnassum*, 1725): how to write a melody
  against a given one, as a ladder of exercises and rules — start and end on a perfect consonance, move
  mostly by step, prefer contrary motion, never parallel fifths or octaves. Haydn, Mozart and Beethoven
  learnt from it, and its rules are still how harmony is taught — and what section 3 checks.
* **Hiller and Isaacson's *Illiac Suite*** (1957), the first score composed by a computer, used both
  halves of this lesson: counterpoint rules to accept or reject random notes, and Markov chains.
* **David Cope's EMI** (*Experiments in Musical Intelligence*, from the 1980s) analyses a composer's
  works, cuts them into fragments and recombines them by rules of harmony and of the composer's own
  "signatures" — its fake Bach and Chopin fooled many listeners.

> **Setting the record straight:** an **RBM** is a *restricted Boltzmann machine* — a neural network
> (Smolensky 1986, "harmonium"; trained with Hinton's contrastive divergence), not a "rule-based
> model", as some write-ups claim. In music it is known from the **RNN-RBM** of Boulanger-Lewandowski,
> Bengio and Vincent (2012), which models polyphonic piano rolls. Everything in this lesson's first half
> is rule-based; nothing in it is an RBM.

Our own dice game: the rule-based composer of the next section writes 11 versions of an 8-bar tune over
the same chords (one per dice total), and two dice choose each bar.
"""),
("code", r"""
versions = {total: compose("C major", "classical", bars=8, seed=total, tempo=110) for total in range(2, 13)}
rng = np.random.default_rng(1792)
totals = rng.integers(1, 7, size=(8, 2)).sum(axis=1)        # two dice for each of the 8 bars
bar = versions[2].bar_length
notes = [n for b, total in enumerate(totals) for n in versions[total].notes
         if b * bar <= n.start < (b + 1) * bar]
dice_tune = Piece(notes, tempo=110, key="C major", title="Dice game, totals " + " ".join(map(str, totals)))
print(f"dice totals: {totals.tolist()} — one of 11**8 = {11**8:,} tunes this table can make")
listen(dice_tune)
"""),
("md", r"""
## 2. Building a composer, rule by rule

The composer (`compose` in `musegen_helpers.rules`) works like a careful student:

1. lay out the **chords**, one per bar, from a progression written in Roman numerals
   (`I V vi IV` in C major is C, G, Am, F);
2. pick a **rhythm** for each bar;
3. choose the **melody notes** one at a time: every pitch the rules allow is a candidate, each with a
   weight saying how much the rules like it, and a die picks one. When a choice leads to a dead end
   (a passing tone with nowhere to go), it backs up and tries another.

The rules live in a `RuleSet`: switches (on/off) and weights. Here they all are:
"""),
("code", r"""
print(describe_rules(RuleSet()))
print()
for numeral in PRESETS["pop"][0]:
    chord = roman_to_chord(numeral, "C major")
    print(f"{numeral:>3} in C major = {chord.symbol:<3} = {' '.join(chord.note_names)}")
"""),
("md", r"""
### Step 0 — no rules at all

`RuleSet.none()` switches every rule off: any pitch in the range C4–G5, any leap, a fresh random rhythm
every bar. We add the chords underneath (`accompaniment=True`, in a second colour) so you can hear the
melody against the harmony.
"""),
("code", r"""
steps = {"no rules": RuleSet.none()}
steps["+ scale"] = steps["no rules"].replace(stay_in_key=True)
listen(compose("C major", "pop", bars=8, seed=SEED, rules=steps["no rules"], accompaniment=True), "no rules")
"""),
("md", r"""
### Step 1 — stay in the key

Only the seven notes of C major. The wrong-key notes are gone, yet the melody still rubs against the
chords: nothing ties it to the harmony.
"""),
("code", r"""
listen(compose("C major", "pop", bars=8, seed=SEED, rules=steps["+ scale"], accompaniment=True), "+ scale")
"""),
("md", r"""
### Step 2 — chord tones on strong beats

In 4/4 the strong beats are beats 1 and 3. If the melody sounds a note of the current chord there, the
ear hears melody and harmony agree. To do that the composer needs to answer one question over and over:
*is this pitch a note of this chord?*

### Exercise 1 — the chord-tone rule

Write `is_chord_tone(pitch, chord_pitches)` that returns `True` when the MIDI `pitch` is a note of the
chord, **in any octave**, and `False` otherwise. `chord_pitches` is a list of MIDI pitches, e.g.
`[60, 64, 67]` for C major (C4 E4 G4) — so E5 (76) is a chord tone, D4 (62) is not.
"""),
("code", r"""
def is_chord_tone(pitch, chord_pitches):
    ### BEGIN SOLUTION
    return pitch % 12 in {p % 12 for p in chord_pitches}
    ### END SOLUTION

q1.check(is_chord_tone)
"""),
("code", r"""
# q1.hint()
# q1.solution()
"""),
("md", r"""
Your function (or the reference, until yours works) picks the notes the composer may use on a strong
beat over G7, the dominant seventh chord of C major:
"""),
("code", r"""
chord_tone = q1.answer_or_reference(is_chord_tone)
g7 = roman_to_chord("V7", "C major")
allowed = [p for p in range(60, 80) if chord_tone(p, g7.pitches(octave=4))]
print(f"strong-beat notes over {g7.symbol} ({' '.join(g7.note_names)}):", " ".join(note_name(p) for p in allowed))

steps["+ chord tones"] = steps["+ scale"].replace(chord_tones_on_strong_beats=True)
listen(compose("C major", "pop", bars=8, seed=SEED, rules=steps["+ chord tones"], accompaniment=True),
       "+ chord tones on strong beats")
"""),
("md", r"""
### Step 3 — passing and neighbour tones

Between the strong beats a melody may use notes *outside* the chord, but only in two polite ways:
a **passing tone** walks by step from one chord tone to another (C–**D**–E over C major); a
**neighbour tone** steps away and comes straight back (E–**F**–E). Any other non-chord tone sounds like
a wrong note. The rule `non_chord_tones_resolve` enforces both.
"""),
("code", r"""
steps["+ passing tones"] = steps["+ chord tones"].replace(non_chord_tones_resolve=True)
listen(compose("C major", "pop", bars=8, seed=SEED, rules=steps["+ passing tones"], accompaniment=True),
       "+ passing and neighbour tones")
"""),
("md", r"""
### Step 4 — mostly steps, and a step back after a leap

Singable melodies move mostly by step (a second); a large leap is followed by a step the other way
(*leap recovery*), and some leaps — the tritone, sevenths — are avoided because they are hard to sing.
`stepwise_weight=3` makes a step three times likelier than a small leap.
"""),
("code", r"""
steps["+ stepwise"] = steps["+ passing tones"].replace(
    stepwise_weight=3.0, repeated_note_weight=0.5, leap_recovery=True, avoid_awkward_leaps=True, max_leap=12)
listen(compose("C major", "pop", bars=8, seed=SEED, rules=steps["+ stepwise"], accompaniment=True),
       "+ stepwise motion and leap recovery")
"""),
("md", r"""
### Step 5 — a cadence

Music breathes in phrases, and a phrase ends with a **cadence**. The strongest is the **authentic
cadence**, V → I: the dominant chord (G in C major) goes home to the tonic (C) while the melody steps
onto the tonic and stays there. Without it the music just stops, as if mid-sentence.

### Exercise 2 — write a progression that closes

Write a progression of 4 to 8 chords (Roman numerals, one per bar) that starts on the tonic, `I`, and
ends with an **authentic cadence**. The check names any other cadence you write (plagal, half,
deceptive) — try one on purpose and listen to it.
"""),
("code", r"""
### BEGIN SOLUTION
my_progression = ["I", "vi", "ii", "V7", "I"]
### END SOLUTION
q2.check(my_progression)
"""),
("md", r"""
Hear your chords as a four-voice chorale (one chord per bar; the composer's own cadence rule is off
here, so what you hear is exactly your progression):
"""),
("code", r"""
chords_only = q2.answer_or_reference(my_progression)
if isinstance(chords_only, str):                     # "I IV V I" or "I, IV, V, I" work too
    chords_only = chords_only.replace(",", " ").replace("–", " ").replace("-", " ").split()
chorale = compose("C major", list(chords_only), bars=len(chords_only), seed=SEED, tempo=80,
                  harmonize="chorale", rules=RuleSet(cadence=False))
print("chords:", " ".join(c["symbol"] for c in chorale.meta["chords"]))
listen(chorale)
"""),
("code", r"""
steps["+ cadence"] = steps["+ stepwise"].replace(cadence=True)
listen(compose("C major", "pop", bars=8, seed=SEED, rules=steps["+ cadence"], accompaniment=True),
       "+ cadence (V–I, the melody ends on the tonic)")
"""),
("md", r"""
### Step 6 — rhythm

So far every bar got a fresh random rhythm. Real tunes repeat rhythms: here each bar copies the rhythm
of the bar two before it, unless a coin (`rhythm_variety=0.5`) says otherwise. That repetition is what
makes a tune sound like it has *motifs*. This is the full rule set, `RuleSet()`:
"""),
("code", r"""
steps["+ rhythm"] = RuleSet()
full = compose("C major", "pop", bars=8, seed=SEED, rules=steps["+ rhythm"], accompaniment=True)
listen(full, "all rules: + repeated rhythms")
show_score(full)
"""),
("md", r"""
Every note remembers which rule chose it:
"""),
("code", r"""
print("\n".join(explain(full).splitlines()[:10]))
"""),
("md", r"""
And every step can be measured: `check_melody` checks a melody against the full rule set. The count of
broken rules falls as rules are added — the same story your ears just told:
"""),
("code", r"""
print(f"{'rules':<18} broken rules (checked against the full set)")
for name, rules in steps.items():
    piece = compose("C major", "pop", bars=8, seed=SEED, rules=rules)
    broken = check_melody(piece, RuleSet())
    kinds = sorted({v.rule for v in broken})
    print(f"{name:<18} {len(broken):3d}  {', '.join(kinds)}")
"""),
("md", r"""
### Break a rule on purpose

Start from all rules and switch **one** off. Listen for what goes missing.
"""),
("code", r"""
broken_rules = {
    "no cadence": RuleSet(cadence=False),
    "no chord tones on strong beats": RuleSet(chord_tones_on_strong_beats=False, non_chord_tones_resolve=False),
    "random leaps": RuleSet(stepwise_weight=0.0, max_leap=24, leap_recovery=False, avoid_awkward_leaps=False),
}
for name, rules in broken_rules.items():
    piece = compose("C major", "pop", bars=8, seed=SEED, rules=rules, accompaniment=True)
    problems = check_melody(piece, RuleSet())
    print(f"{name}: {len(problems)} broken rules, e.g. {problems[0] if problems else '-'}")
    listen(piece, name)
"""),
("md", r"""
* **No cadence:** the tune stops on whatever note it reached — it sounds cut off, not finished.
* **No chord tones:** strong beats clash with the chords; the melody seems to belong to another song.
* **Random leaps:** every note is in the key and on the chord, yet it sounds like a random walk — nobody
  could sing it, and there is no line to follow.

## 3. More than one voice: voice leading

Write four voices — **s**oprano, **a**lto, **t**enor, **b**ass — and new rules appear, because voices
also relate to *each other*. The most famous: **no parallel fifths or octaves**. When two voices a fifth
(7 semitones) or an octave apart both move to another fifth or octave, they fuse into one thickened
voice and the texture loses a part.

Here is a short passage, I–IV–V–I in C major, written by hand with two such mistakes:
"""),
("code", r"""
passage = voices_to_piece({
    "S": ["G4", "A4", "B4", "C5"],
    "A": ["E4", "F4", "G4", "G4"],
    "T": ["C4", "C4", "D4", "E4"],
    "B": ["C3", "F3", "G3", "C3"],
}, duration=2.0)
for problem in check_voice_leading(passage):
    print(problem)
display(play(passage))
show_score(passage)
"""),
("md", r"""
Between the second and third chords (IV → V) the bass climbs F3→G3 while the tenor climbs C4→D4 a
fifth above it, and the alto F4→G4 an octave above. Listen for it: for a moment the four voices sound
like two.

### Exercise 3 — find parallel fifths

Write `find_parallel_fifths(upper, lower)`: two voices as lists of MIDI pitches (one note per beat,
same length). Return the list of positions `i` where the voices move from a perfect fifth at `i - 1` to
a perfect fifth at `i`, **both voices moving**. A fifth plus an octave (a twelfth, 19 semitones) counts
as a fifth; a fifth that is simply held or repeated does not.
"""),
("code", r"""
def find_parallel_fifths(upper, lower):
    ### BEGIN SOLUTION
    found = []
    for i in range(1, len(upper)):
        before = abs(upper[i - 1] - lower[i - 1]) % 12
        after = abs(upper[i] - lower[i]) % 12
        both_move = upper[i] != upper[i - 1] and lower[i] != lower[i - 1]
        if before == 7 and after == 7 and both_move:
            found.append(i)
    return found
    ### END SOLUTION

q3.check(find_parallel_fifths)
"""),
("code", r"""
# q3.hint()
# q3.solution()
"""),
("code", r"""
find = q3.answer_or_reference(find_parallel_fifths)
tenor, bass = [60, 60, 62, 64], [48, 53, 55, 48]   # the passage's tenor and bass
print("parallel fifths between tenor and bass at chord positions:", find(tenor, bass))
"""),
("md", r"""
The composer avoids all of this by itself. With `harmonize=True` it writes the melody as before, then
searches every voicing of every chord for the alto, tenor and bass that move least, never cross, stay in
range — and never make parallel fifths or octaves (a shortest-path search, the Viterbi algorithm, over
the chords):
"""),
("code", r"""
satb = compose("G major", "classical", bars=8, seed=SEED, tempo=84, harmonize=True)
problems = check_voice_leading(satb)
print(f"{len(satb.notes)} notes in {len(satb.parts)} voices {satb.parts}; voice-leading problems: {len(problems)}")
listen(satb)
show_score(satb)
"""),
("md", r"""
## 4. Your turn: the composer as an instrument

Change the key, the mode, the progression, the rules, the seed — the piece is regenerated, played and
drawn at once. Type a key that does not exist (say `H`) and the widget tells you what is wrong instead of
crashing. Things to try: switch *chord tones* off and listen to the clashes; set *steps* to 0; pick
`andalusian` in a minor mode; turn on *SATB* and look at the score.
"""),
("code", r"""
def make_rule_based_piece(tonic, mode, progression, tempo, seed, chord_tones, passing_tones_resolve,
                          steps, cadence, satb):
    rules = RuleSet(chord_tones_on_strong_beats=chord_tones, non_chord_tones_resolve=passing_tones_resolve,
                    stepwise_weight=steps, cadence=cadence)
    return compose(f"{tonic.strip()} {mode}", progression, bars=8, tempo=tempo, seed=seed, rules=rules,
                   harmonize=satb, accompaniment=not satb)


def width(pixels):
    return widgets.Layout(width=f"{pixels}px")


composer = music_controls(make_rule_based_piece, {
    "tonic": widgets.Text(value="C", description="key", layout=width(150)),
    "mode": widgets.Dropdown(options=["major", "minor", "dorian", "phrygian", "lydian", "mixolydian"],
                             value="major", description="mode", layout=width(220)),
    "progression": widgets.Dropdown(options=list(PRESETS), value="pop", description="chords", layout=width(220)),
    "tempo": widgets.IntSlider(value=100, min=40, max=200, step=4, description="tempo", layout=width(250)),
    "seed": widgets.IntText(value=SEED, description="seed", layout=width(140)),
    "chord_tones": widgets.Checkbox(value=True, description="chord tones", indent=False, layout=width(105)),
    "passing_tones_resolve": widgets.Checkbox(value=True, description="passing tones", indent=False,
                                              layout=width(115)),
    "steps": widgets.FloatSlider(value=3.0, min=0.0, max=10.0, step=0.5, description="steps", layout=width(230)),
    "cadence": widgets.Checkbox(value=True, description="cadence", indent=False, layout=width(80)),
    "satb": widgets.Checkbox(value=False, description="SATB", indent=False, layout=width(70)),
})
composer
"""),
("code", r"""
# What a typo does: the widget shows a message, and the last good piece stays.
composer.controls["tonic"].value = "H"
print("message in the widget:", composer.error)
composer.controls["tonic"].value = "C"
print("after fixing it:", composer.error, "-", composer.piece.title)
"""),
("md", r"""
## 5. Learning from data: a Markov chain

Rules are written by hand: they encode what a theorist noticed. A **Markov chain** (Andrey Markov, 1913,
who counted vowels and consonants in Pushkin's *Eugene Onegin*) notices by itself: it counts, in real
music, what follows what, and then composes by rolling dice weighted by those counts. Its one
assumption — the next note depends only on the last few — is its **order**.

Our teachers are folk tunes (see `datasets/MANIFEST.md`), split into *train* (to learn from) and *valid*
(held out, to test on; variants of one tune never straddle the split).
"""),
("code", r"""
from musegen_helpers.datasets import load_melodies
from musegen_helpers.ngram import (KneserNey, MarkovChain, WittenBell, best_kneser_ney, bits_per_token,
                                   longest_shared_ngram)
from musegen_helpers.representation import HOLD, tokens_to_melody

melodies = load_melodies()
train = melodies.split("train")
valid = melodies.split("valid")
train = train[::pick(1, 10)]       # fast mode learns from every 10th tune only
valid = valid[::pick(1, 5)]
train_tokens, valid_tokens = train.tokens(), valid.tokens()   # 16th-note event tokens, as in lesson 01
print(f"learning from {len(train)} tunes ({sum(map(len, train_tokens)):,} tokens); "
      f"held out: {len(valid)} tunes ({sum(map(len, valid_tokens)):,} tokens)")
first = train[0]
listen(first.slice(0, 8 * first.bar_length), f"{first.title} (first 8 bars)")
"""),
("md", r"""
### 5a. What follows what: a transition table

Start with pitches only — forget rhythm for a moment. Each tune becomes its list of pitches; an
**order-1** chain needs one number for every pair of pitches: how often the second directly follows the
first.

### Exercise 4 — count the transitions

Write `count_transitions(sequences, n_symbols=128)` that returns a numpy array `counts` of shape
`(n_symbols, n_symbols)` where `counts[a, b]` is how many times `b` directly follows `a` **inside** one
of the sequences. (The last note of one tune and the first of the next are not neighbours.)
"""),
("code", r"""
def count_transitions(sequences, n_symbols=128):
    ### BEGIN SOLUTION
    counts = np.zeros((n_symbols, n_symbols), dtype=int)
    for tune in sequences:
        for a, b in zip(tune[:-1], tune[1:]):
            counts[a, b] += 1
    return counts
    ### END SOLUTION

q4.check(count_transitions)
"""),
("code", r"""
# q4.hint()
# q4.solution()
"""),
("md", r"""
Divide each row by its total and the table becomes the chain: row *a* holds the probability of every
next pitch after *a*. Dark squares next to the diagonal are steps; the diagonal itself is repeated notes.
"""),
("code", r"""
pitch_lines = [[n.pitch for n in tune.notes] for tune in train]
counts = q4.answer_or_reference(count_transitions)(pitch_lines)
row_totals = counts.sum(axis=1, keepdims=True)
transition = np.divide(counts, row_totals, out=np.zeros(counts.shape), where=row_totals > 0)

low, high = 57, 86                                 # A3 to D6, where almost all notes of the tunes lie
fig, ax = plt.subplots(figsize=(7, 6))
image = ax.imshow(transition[low:high + 1, low:high + 1], origin="lower", cmap="magma_r")
ticks = list(range(0, high - low + 1, 2))
ax.set_xticks(ticks, [note_name(low + t) for t in ticks], rotation=90, fontsize=7)
ax.set_yticks(ticks, [note_name(low + t) for t in ticks], fontsize=7)
ax.set_xlabel("next pitch"); ax.set_ylabel("current pitch")
ax.set_title("order-1 transitions between pitches: P(next | current)")
fig.colorbar(image, ax=ax, shrink=0.8)
plt.show()

top = np.dstack(np.unravel_index(np.argsort(counts, axis=None)[::-1][:5], counts.shape))[0]
print("most common moves:", ", ".join(f"{note_name(a)}→{note_name(b)} ({counts[a, b]})" for a, b in top))
"""),
("md", r"""
That table *is* a composer. Start on a G and roll the dice, row by row:
"""),
("code", r"""
rng = np.random.default_rng(SEED)
pitch, line = 67, [67]
for _ in range(31):
    row = transition[pitch]
    pitch = int(rng.choice(128, p=row)) if row.sum() > 0 else 67   # a pitch never followed: start again
    line.append(pitch)
listen(melody(line, durations=0.5), "an order-1 chain over pitches, in eighth notes")
"""),
("md", r"""
Locally plausible, globally aimless: every step is one a folk singer might take, but there is no rhythm,
no phrase, no home. Two fixes: put the rhythm back, and look further back than one note.

### 5b. A chain of notes, order 1 to 5

Make each **note** one token: its pitch *and* its length, e.g. (G4, a quarter note = 4 sixteenths); a
rest is a token too. A chain of order *k* then picks the next note from the *k* notes before it.
(Lesson 01's tokens — one per 16th-note step — work too, but then order 5 sees barely more than one
note; section 5c uses them.)
"""),
("code", r"""
def note_events(tokens):
    "16th-note tokens -> one (pitch or REST, length in 16th steps) pair per note or rest."
    tokens = np.asarray(tokens)
    starts = np.flatnonzero(tokens != HOLD)
    lengths = np.diff(np.append(starts, len(tokens)))
    return list(zip(tokens[starts].tolist(), lengths.tolist()))


def notes_to_piece(note_tokens, title=""):
    "Note tokens back to 16th-note tokens, then to a Piece."
    steps = [t for i in note_tokens for t in [vocabulary[i][0]] + [HOLD] * (vocabulary[i][1] - 1)]
    return tokens_to_melody(steps, tempo=160, title=title)


train_events = [note_events(t) for t in train_tokens]
vocabulary = sorted({event for tune in train_events for event in tune})   # every (pitch, length) seen
number_of = {event: i for i, event in enumerate(vocabulary)}
note_tunes = [np.array([number_of[event] for event in tune]) for tune in train_events]
print(f"{len(vocabulary)} different notes (pitch + length) in {sum(map(len, note_tunes)):,} notes; "
      f"the first tune starts {train_events[0][:4]}")

orders = [1, 2, 3, 4, 5]
chains = {k: MarkovChain(order=k, vocab_size=len(vocabulary)).fit(note_tunes) for k in orders}
"""),
("md", r"""
Sample 40 notes at each order and listen. For each sample we also ask `longest_shared_ngram`: what is
the longest run of notes in the sample that appears, note for note, in **one** training tune? A long run
means the chain is not composing but quoting.
"""),
("code", r"""
samples, sampled, copied = {}, {}, {}
fig, axes = plt.subplots(len(orders), 1, figsize=(10, 1.9 * len(orders)))
for ax, k in zip(axes, orders):
    sampled[k] = chains[k].sample(length=40, seed=SEED)
    copied[k] = longest_shared_ngram(sampled[k], note_tunes)
    samples[k] = notes_to_piece(sampled[k])
    plot_piano_roll(samples[k], ax=ax, title=f"order {k}: copies {copied[k].length} notes in a row from one tune")
plt.tight_layout()
plt.show()
for k in orders:
    print(f"order {k}: longest passage copied from one training tune = {copied[k].length} notes")
    display(play(samples[k]))
"""),
("md", r"""
* **Order 1** wanders: each note only knows the note before it, so phrases never form.
* **Order 2–3** sound like folk tunes — each short turn of phrase comes from some real tune.
* **Order 4–5** sound *too* good: look at the copy lengths. With five notes of context, most contexts
  occur in one training tune only, so there is nothing to choose from — the chain recites that tune.
  Here is the longest copy of the highest order, shaded in the sample and in the tune it came from:
"""),
("code", r"""
k = orders[-1]
copy = copied[k]
source = note_tunes[copy.tune]
passage = source[copy.position:copy.position + copy.length]
windows = np.lib.stride_tricks.sliding_window_view(sampled[k], copy.length)
at = int(np.flatnonzero((windows == passage).all(axis=1))[0])     # where the passage sits in the sample


def quarters(note_tokens):
    "Total length of some note tokens, in quarter notes."
    return sum(vocabulary[i][1] for i in note_tokens) / 4


fig, axes = plt.subplots(1, 2, figsize=(12, 2.6), sharey=True)
plot_piano_roll(samples[k], ax=axes[0], title=f"order-{k} sample")
plot_piano_roll(notes_to_piece(source), ax=axes[1], title=f"training tune: {train[copy.tune].title}")
axes[0].axvspan(quarters(sampled[k][:at]), quarters(sampled[k][:at + copy.length]), color="gold", alpha=0.3)
axes[1].axvspan(quarters(source[:copy.position]), quarters(source[:copy.position + copy.length]),
                color="gold", alpha=0.3)
plt.tight_layout()
plt.show()
"""),
("md", r"""
### Your turn: the Markov chain as an instrument

Move the order and the **temperature** (below 1: play it safe, pick the likeliest continuations; above 1:
take risks). Try order 0 or 6: they are not among the chains fitted above, and the widget says so.
"""),
("code", r"""
def make_markov_piece(order, temperature, seed):
    if order not in chains:
        raise ValueError(f"there is no order-{order} chain: choose an order from {min(chains)} to {max(chains)} "
                         "(order 0 would ignore the previous notes entirely).")
    if seed < 0:
        raise ValueError(f"the seed must be a whole number >= 0, got {seed}.")
    note_tokens = chains[order].sample(length=40, seed=seed, temperature=temperature)
    copy = longest_shared_ngram(note_tokens, note_tunes)
    return notes_to_piece(note_tokens, title=f"order {order}, temperature {temperature:g}, seed {seed}: "
                                             f"copies {copy.length} notes in a row from one tune")


markov = music_controls(make_markov_piece, {
    "order": widgets.IntText(value=3, description="order", layout=widgets.Layout(width="160px")),
    "temperature": widgets.FloatSlider(value=1.0, min=0.2, max=2.0, step=0.1, description="temperature"),
    "seed": widgets.IntText(value=SEED, description="seed", layout=widgets.Layout(width="160px")),
})
markov
"""),
("code", r"""
markov.controls["order"].value = 0
print("message in the widget:", markov.error)
markov.controls["order"].value = 3
"""),
("md", r"""
### 5c. Held-out bits per token: how well does each order predict new tunes?

Listening is the final judge, but it is slow and subjective. A number: feed the model a held-out tune
token by token, and at each step ask how much probability it gave to the token that really came next.
The average $-\log_2 p$ is the **bits per token** — how many yes/no questions the model needs to guess
each step. Fewer bits = better predictions; guessing uniformly among the 131 tokens costs
$\log_2 131 \approx 7$ bits.

From here on a token is again one **16th-note step** (lesson 01's event tokens), because that is the
unit lesson 03's LSTM is measured in. A context must then be much longer to cover the same music: 16
tokens are one bar of 4/4.

A plain Markov chain gives probability **0** to anything it never saw after a context, and
$-\log_2 0 = \infty$: one unseen continuation in the held-out tunes and its score is infinite. Three
fixes, from crude to clever:

* **add-k smoothing** — pretend every token was seen *k* extra times after every context;
* **Witten–Bell** — mix in the next-shorter context, trusting a context more the more often it was seen
  compared with how many different tokens followed it;
* **Kneser–Ney** (Chen & Goodman 1998) — subtract a fixed *discount* from every count and give that mass
  to the shorter context, which counts in how many *different* contexts a token appeared. The classic best
  n-gram model, and lesson 03's baseline for the LSTM.

n-gram models count the predicted token in their order: a Markov chain of order *k* is an n-gram with
*n* = *k* + 1. (`best_kneser_ney` fits every order at once from one set of counts.)
"""),
("code", r"""
ngram_orders = pick([1, 2, 3, 4, 5, 6, 8, 12, 16, 24, 32], [1, 2, 3, 4, 6, 8, 12])

plain = bits_per_token(MarkovChain(order=2).fit(train_tokens), valid_tokens)
print(f"order-2 Markov chain without smoothing: {plain} bits per token\n")
markov_bits = {k: bits_per_token(MarkovChain(order=k, add_k=0.01).fit(train_tokens), valid_tokens) for k in orders}
wb_bits = {n: bits_per_token(WittenBell(order=n).fit(train_tokens), valid_tokens) for n in ngram_orders}
best_kn_model = best_kneser_ney(train_tokens, valid_tokens, orders=ngram_orders, tune=False)
kn_bits = best_kn_model.validation_by_order_

print("held-out bits per 16th-note token (fewer = better)")
print(f"{'n':>3} {'Markov add-k (order n-1)':>25} {'Witten-Bell':>12} {'Kneser-Ney':>11}")
for n in sorted(set(ngram_orders) | {k + 1 for k in orders}):
    cells = [markov_bits.get(n - 1), wb_bits.get(n), kn_bits.get(n)]
    print(f"{n:>3} " + " ".join(f"{'' if c is None else f'{c:.3f}':>{w}}" for c, w in zip(cells, (25, 12, 11))))
"""),
("code", r"""
fig, ax = plt.subplots(figsize=(8, 3.8))
ax.plot([k + 1 for k in orders], [markov_bits[k] for k in orders], "o-", label="Markov chain, add-k = 0.01")
ax.plot(ngram_orders, [wb_bits[n] for n in ngram_orders], "s-", label="Witten–Bell")
ax.plot(ngram_orders, [kn_bits[n] for n in ngram_orders], "^-", label="Kneser–Ney")
ax.set_xscale("log", base=2)
ax.set_xticks(ngram_orders, [str(n) for n in ngram_orders])
ax.set_xlabel("n-gram order n (context = n − 1 sixteenth-note tokens)")
ax.set_ylabel("held-out bits per token")
ax.set_title("how well each model predicts tunes it never saw")
ax.legend()
plt.show()
"""),
("md", r"""
Read the plot from left to right:

* **add-k** improves while contexts are short and common, then stalls or gets worse: a rare context's
  counts are swamped by the *k* added to all 131 tokens, the sensible and the absurd alike.
* **Witten–Bell** falls, then *rises* again beyond n ≈ 5–6 — the trap: a long context seen once in
  training predicts its one continuation with probability ≥ 1/2, far too confident for a new tune.
* **Kneser–Ney** keeps improving far beyond that: its discounts take a little from every seen
  continuation, so it leans on the shorter contexts exactly when the long one is thin.

### Exercise 5 — choose the order

Write `best_order(bits_by_order, tolerance=0.0)` that takes a dictionary `{order: held-out bits per
token}` and returns the **lowest** order whose bits are within `tolerance` of the best (lowest) value.
Orders with infinite bits can never win. (With `tolerance=0` this is simply the best order; a small
tolerance prefers the simpler model when a longer context hardly helps.)
"""),
("code", r"""
def best_order(bits_by_order, tolerance=0.0):
    ### BEGIN SOLUTION
    lowest = min(bits for bits in bits_by_order.values() if np.isfinite(bits))
    return min(order for order, bits in bits_by_order.items() if bits <= lowest + tolerance)
    ### END SOLUTION

q5.check(best_order)
"""),
("code", r"""
# q5.hint()
# q5.solution()
"""),
("code", r"""
choose = q5.answer_or_reference(best_order)
best_n = choose(kn_bits)
print(f"Kneser-Ney: best held-out order n = {best_n} ({kn_bits[best_n]:.3f} bits per token); "
      f"within 0.05 bits of it: n = {choose(kn_bits, tolerance=0.05)}")
print(f"Witten-Bell: best n = {choose(wb_bits)}; Markov add-k: best order k = {choose(markov_bits)} (n = {choose(markov_bits) + 1})")
"""),
("md", r"""
Does the best-predicting model also make the best music? Sample three tunes from Kneser–Ney with a short
context and three at its best order, and measure copying in notes as before:
"""),
("code", r"""
def notes_copied(tokens):
    "Longest run of notes (pitch + length) of a 16th-note token sequence found in one training tune."
    ids = np.array([number_of.get(event, -1) for event in note_events(tokens)])  # -1: a note never seen
    return longest_shared_ngram(ids, note_tunes).length


short_context = KneserNey(order=4).fit(train_tokens)
for n, model in [(4, short_context), (best_n, best_kn_model)]:
    tunes = [model.sample(length=160, seed=seed) for seed in range(SEED, SEED + 3)]
    runs = [notes_copied(t) for t in tunes]
    print(f"Kneser-Ney n = {n:2d}: {kn_bits[n]:.3f} bits per token held out; longest copies {runs} notes")
    listen(tokens_to_melody(tunes[int(np.argmax(runs))], tempo=160),
           f"Kneser-Ney n = {n}: the sample that copies most ({max(runs)} notes in a row)")
"""),
("md", r"""
Here is the lesson's sting. Kneser–Ney's held-out loss keeps falling long after its samples start to
copy: a long context that matches a training tune makes the *next* token easy to predict — in held-out
tunes too, because folk tunes share formulas (cadences, scale runs, how long a note lasts at a given
point in the bar) — so the number improves. But the sampler, fed its own output, follows that long
context into one training tune and recites longer and longer runs of it. **A low held-out loss says the
model predicts well; it does not say the model composes.** Always listen, and always check for copying
(lesson 05 does it properly).

## Recap

* A **rule-based composer** turns theory into constraints and weights: scale, chord tones on strong
  beats, passing and neighbour tones that resolve, mostly steps with leap recovery, a V–I cadence,
  repeated rhythms. Breaking one rule is the fastest way to hear what it does.
* **Voice leading** adds rules between voices; parallel fifths and octaves are found by comparing
  consecutive intervals of every pair of voices, both voices moving.
* A **Markov chain** of order *k* counts what follows each context of *k* tokens and samples from those
  counts: order 1 wanders, high orders copy. `longest_shared_ngram` measures the copying. What a token
  is — a whole note, or one 16th-note step — decides how much music *k* tokens cover.
* **Held-out bits per token** compare models on tunes they never saw; unseen continuations need
  smoothing (add-k < Witten–Bell < Kneser–Ney), and Witten–Bell gets *worse* for long contexts.
* Low held-out loss ≠ original music: judge generators by listening and by copy checks too.

**Next:** [03 · LSTM](03_lstm.ipynb) — a neural network that reads the whole past, not just *k* tokens,
and must beat Kneser–Ney on the same held-out tunes.

## Further reading

* Johann Joseph Fux, *Gradus ad Parnassum* (1725); in English as *The Study of Counterpoint*, trans.
  Alfred Mann (Norton, 1965) — the rules of species counterpoint.
* David Cope, *Computer Models of Musical Creativity* (MIT Press, 2005) — EMI and recombinant music.
* Gerhard Nierhaus, *Algorithmic Composition: Paradigms of Automated Music Generation* (Springer, 2009) —
  Markov models, generative grammars, rule systems and their history, from the dice game on.
* Lejaren Hiller and Leonard Isaacson, *Experimental Music: Composition with an Electronic Computer*
  (McGraw-Hill, 1959) — the *Illiac Suite*.
* Stanley F. Chen and Joshua Goodman, "An Empirical Study of Smoothing Techniques for Language Modeling"
  (Harvard TR-10-98, 1998) — add-k, Witten–Bell, Kneser–Ney compared; the source of modified Kneser–Ney.
* Nicolas Boulanger-Lewandowski, Yoshua Bengio, Pascal Vincent, "Modeling Temporal Dependencies in
  High-Dimensional Sequences: Application to Polyphonic Music Generation and Transcription" (ICML 2012) —
  the RNN-RBM, a neural network (not a rule system).
"""),
]

write_notebook("solutions/02_rule_based.ipynb", cells, overwrite="--force" in sys.argv)
