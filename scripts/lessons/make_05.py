"""Creates solutions/05_evaluation.ipynb (run once; afterwards the notebook is the source).

    .venv/bin/python scripts/lessons/make_05.py --force
"""
import sys
sys.path.insert(0, "scripts")
from nbtools import write_notebook

cells = [
("md", r"""
# 05 · Evaluating generated music: numbers, comparisons and ears

Four lessons built four kinds of composer: rules (02), Markov chains and n-gram models (02, 03), an LSTM
(03) and a GAN (04). Which one is *best*? This lesson is about how to answer that — and why no single
number can. We measure pieces, compare whole sets of them with real music, check for copying, put every
generator of the course on one scoreboard, and finish with the judge that matters most: people
listening, blind.

**You will learn to**
1. explain why evaluating generated music is hard, and why a good likelihood does not mean good music
   (nor the other way round);
2. measure a piece's pitch, diversity, harmony and rhythm with metrics that have formulas;
3. compare a *set* of generated pieces with real music feature by feature (intra- and inter-set
   distances, overlapped area, KL divergence) and read the plot;
4. check whether a model copies its training data;
5. put every generator of the course on one scoreboard against held-out real music;
6. run a blind A/B listening test and analyse it with win rates, a sign test and confidence intervals.

⏱ **Time:** about 70 minutes (4 exercises). Fast mode (`MUSEGEN_FAST=1`) uses fewer tunes everywhere.
"""),
("code", r"""
from musegen_helpers.config import FAST, pick

import math
from pathlib import Path

import numpy as np
import matplotlib.pyplot as plt
from IPython.display import display

from musegen_helpers import (Piece, play, show_score, plot_piano_roll, plot_pitch_histogram,
                             plot_duration_histogram)
from musegen_helpers import metrics as M
from musegen_helpers.datasets import load_melodies, load_chorales
from musegen_helpers.representation import END, VOCAB_SIZE, melody_to_tokens, tokens_to_melody
from musegen_helpers.rules import METERS, compose
from musegen_helpers.lessons.lesson05 import ____, q1, q2, q3, q4

print("fast mode: fewer tunes everywhere" if FAST else "normal mode")
"""),
("md", r"""
## 1. Why is evaluating music hard?

A classifier is right or wrong: the photo shows a cat or it does not. A composer has no right answer — a
good folk tune can go a thousand ways, and the tune in the test set is only one of them. What we want
from a generator is a bundle of wishes:

* its music **sounds like the style** it learnt (folk tunes, chorales);
* it is **new** — not a training tune played back;
* it is **varied** — not the same tune every time;
* and, ideally, it is **good**: shapely, surprising, moving. Nobody has a formula for that.

There are three families of evaluation, and each sees only part of the bundle:

| approach | asks | cost | blind spot |
|---|---|---|---|
| **likelihood** of held-out music (bits per token, lesson 03) | how well does the model predict real tunes it never saw? | cheap | says little about the model's own samples |
| **metrics of samples** (most of this lesson) | do the samples have the statistics of real music? | cheap | a copy scores perfectly; statistics are not quality |
| **listening tests** (section 11) | do people prefer them? | people and time | small samples, taste, biases |

Theis, van den Oord and Bethge (*A note on the evaluation of generative models*, ICLR 2016) showed for
images that these can disagree almost completely. Their two thought experiments work for music too — we
run them in section 3, once we have our contestants.
"""),
("md", r"""
## 2. The contestants

First the real music: the folk-tune collection of lessons 01–03, split by tune family, so that no
variant of a test tune was ever seen in training.
"""),
("code", r"""
melodies = load_melodies(limit=pick(None, 1500))           # fast mode: the first 1500 tunes
train_set, test_set = melodies.split("train"), melodies.split("test")
train_tokens, test_tokens = train_set.tokens(), test_set.tokens()
print(f"training: {len(train_set)} tunes ({sum(map(len, train_tokens)):,} tokens); held out: {len(test_set)} tunes")
"""),
("md", r"""
**Compare like with like.** A token model writes no bar lines, no time signature and no tempo: it writes
16th-note steps. So every melody — real or generated — goes through the same pipe before we measure
it: encoded as tokens, cut to at most 16 bars of 4/4 (256 steps), and read back in 4/4 from its first
note at 110 beats per minute. Any difference we then find comes from the music, not from the way it was
written down. (The price: a tune with an upbeat, or in 6/8, looks a little off-beat after the pipe —
but real and generated tunes pay it alike.)
"""),
("code", r"""
STEPS = 256                                   # at most 16 bars of 4/4 on the 16th-note grid


def as_tune(x, title=""):
    "A melody as a token model sees it: tokens on the 16th-note grid, at most STEPS, in 4/4 at 110 BPM."
    tokens = melody_to_tokens(x) if isinstance(x, Piece) else np.asarray(x)
    return tokens_to_melody(tokens[:STEPS], tempo=110, title=title)


N_REAL = pick(200, 40)                        # held-out tunes to compare with
real_picks = np.linspace(0, len(test_set) - 1, N_REAL).round().astype(int)  # spread over the collections
real_melodies = [as_tune(test_tokens[i], f"real: {test_set[int(i)].title}") for i in real_picks]
print(len(real_melodies), "real tunes, e.g.", real_melodies[1].title)
"""),
("md", r"""
Now the composers. The **n-gram models** learn from the training tokens in seconds (with an `END` token
after each tune, so they learn where tunes stop). Besides lesson 02's Markov chain and lesson 03's
Kneser-Ney model we build a deliberately bad one: a Markov chain of **order 16**, which remembers a
whole bar of context. It has seen almost no 16-token context more than once, so it can only continue
the way one training tune did — a *memoriser*.
"""),
("code", r"""
from musegen_helpers.ngram import KneserNey, MarkovChain, bits_per_token

with_end = [np.append(t, END) for t in train_tokens]
markov = MarkovChain(order=4).fit(with_end)        # lesson 02
kneser_ney = KneserNey(order=8).fit(with_end)      # lesson 03's baseline
memoriser = MarkovChain(order=16).fit(with_end)    # a model that overfits on purpose
"""),
("md", r"""
The **rule-based composer** of lesson 02 gets some variety — keys, progressions, meters and lengths are
drawn at random, as a collection of folk tunes would have them:
"""),
("code", r"""
MAJOR = ["C major", "G major", "D major", "A major", "F major", "Bb major", "Eb major"]
MINOR = ["A minor", "E minor", "D minor", "G minor", "C minor"]


def rule_based_tune(seed):
    "Lesson 02's composer with a random key, progression, meter and length (the same seed, the same tune)."
    rng = np.random.default_rng(seed)
    minor = rng.random() < 0.25
    key = str(rng.choice(MINOR if minor else MAJOR))
    progression = str(rng.choice(["minor", "andalusian"] if minor else ["pop", "doo-wop", "pachelbel", "classical", "circle"]))
    meter = METERS[rng.integers(len(METERS))]
    return compose(key, progression, bars=int(rng.choice([8, 12, 16])), meter=meter, seed=seed)
"""),
("md", r"""
The **LSTM** of lesson 03 (the pretrained one) and the **GAN** of lesson 04 (pretrained too). Importing
them starts TensorFlow, which takes a few seconds.
"""),
("code", r"""
from musegen_helpers.models import gan as G
from musegen_helpers.models import lstm

sampler = lstm.MelodySampler(lstm.load_pretrained())
generator, gan_info = G.load_pretrained_generator()
GAN_THRESHOLD = gan_info.get("threshold", 0.5)     # the binarisation threshold chosen in lesson 04


def lstm_tokens(temperature, seed):
    "One LSTM tune: it stops when the model chooses END (or after STEPS steps)."
    return sampler.generate(STEPS, temperature=temperature, seed=seed, stop_at_end=True)
"""),
("md", r"""
Before any number: **listen**. One tune from each melody generator, and a real one. Which would you keep?
"""),
("code", r"""
examples = {
    "real (held out)": real_melodies[1],
    "rule-based": as_tune(rule_based_tune(3)),
    "Markov chain, order 4": as_tune(markov.sample(STEPS, seed=3)),
    "Kneser-Ney 8-gram": as_tune(kneser_ney.sample(STEPS, seed=3)),
    "LSTM, temperature 1.0": as_tune(lstm_tokens(1.0, seed=3)),
}
fig, axes = plt.subplots(len(examples), 1, figsize=(11, 1.9 * len(examples)))
for ax, (name, tune) in zip(axes, examples.items()):
    plot_piano_roll(tune, ax=ax, title=name)
    ax.set_xlabel("")
plt.tight_layout()
plt.show()
for name, tune in examples.items():
    print(name)
    display(play(tune))
"""),
("md", r"""
## 3. Likelihood is not the whole story

Lesson 03 ranked models by **held-out bits per token**: how surprised a model is by real tunes it never
saw. It is the most principled number we have — and Theis et al. (2016) showed two ways it can mislead.

**A model that is 99 % noise.** Take the Kneser-Ney model and a "noise" model that picks every token
with equal probability $1/131$. Mix them: for each tune, flip a coin that says *noise* 99 times in 100.
The mixture gives a tune $x$ the probability $0.01\,p_{\text{KN}}(x) + 0.99\,p_{\text{noise}}(x) \ge
0.01\,p_{\text{KN}}(x)$, so it needs at most $\log_2 100 \approx 6.6$ bits *per tune* more than
Kneser-Ney — spread over a tune of 150 tokens, 0.04 bits per token. Nearly the same likelihood; but 99
of its 100 samples are noise.
"""),
("code", r"""
scored = [np.append(test_tokens[i], END) for i in real_picks]
lengths = np.array([len(t) for t in scored])
kn_bits = np.array([-lp.sum() for lp in kneser_ney.log2_prob_sequences(scored)])  # bits per whole tune
noise_bits = lengths * np.log2(VOCAB_SIZE)                                            # every token 1/131
mixture_bits = -np.logaddexp2(np.log2(0.01) - kn_bits, np.log2(0.99) - noise_bits)   # log of a sum, safely

print(f"Kneser-Ney 8-gram           : {kn_bits.sum() / lengths.sum():.3f} bits per token")
print(f"99 % noise + 1 % Kneser-Ney : {mixture_bits.sum() / lengths.sum():.3f} bits per token")
print(f"pure noise                  : {np.log2(VOCAB_SIZE):.3f} bits per token")
noise_tune = as_tune(np.random.default_rng(0).integers(0, END, 128), "what the mixture plays 99 times in 100")
play(noise_tune)
"""),
("md", r"""
**A model that only plays back.** The other way round: our memoriser's samples sound like real folk
tunes — because they *are* real folk tunes, stitched from long passages of the training set. Its
held-out likelihood is the worst possible: a held-out tune soon reaches a 16-token context that the
memoriser never saw continue that way, and gets probability 0 — infinitely many bits.
"""),
("code", r"""
print(f"memoriser (order-16 chain): {bits_per_token(memoriser, scored[:pick(50, 10)]):.3f} bits per token on held-out tunes")
memorised = as_tune(memoriser.sample(STEPS, seed=1), "memoriser, seed 1")
play(memorised)
"""),
("md", r"""
So likelihood and the quality of samples can point in opposite directions. We need to look at the
**samples** themselves, check them for **copying**, and — in the end — **listen**.

## 4. One piece, many numbers: pitch

A metric is a function from a piece to a number, with a formula you can check. The ones below follow
MusPy (Dong et al., 2020), which collected the metrics used across papers, so our numbers can be
compared with published ones. Take one real tune and one rule-based tune:
"""),
("code", r"""
real_tune, rule_tune = real_melodies[1], as_tune(rule_based_tune(3), "rule-based")
for name, piece in [("real", real_tune), ("rule-based", rule_tune)]:
    print(f"{name:10s}: range {M.pitch_range(piece):2d} semitones, {M.n_pitches_used(piece):2d} pitches, "
          f"{M.n_pitch_classes_used(piece):2d} pitch classes, mean step {M.mean_interval(piece):.2f} semitones")
fig, axes = plt.subplots(1, 2, figsize=(11, 2.6))
plot_pitch_histogram(real_tune, ax=axes[0], title="real tune: notes per pitch class")
plot_pitch_histogram(rule_tune, ax=axes[1], title="rule-based tune: notes per pitch class")
plt.tight_layout()
plt.show()
show_score(real_tune.slice(0, 16))          # the real tune's first four bars
"""),
("md", r"""
* **pitch range** — highest minus lowest MIDI pitch, in semitones (a folk tune rarely spans much more
  than an octave and a half: it is sung);
* **pitches / pitch classes used** — how many different notes; a pitch class ignores the octave
  (C4 and C5 are both C), so a tonal tune uses about 7 of the 12;
* **mean interval** — the average step from one note to the next, in semitones (real melodies move
  mostly by step: 1–2 semitones);
* the **pitch-class histogram** — the share $p_i$ of notes on each pitch class $i$ = C, C♯, …, B.

The histogram is summed up in one number by its **entropy**, in bits:

$$ H = -\sum_{i=0}^{11} p_i \log_2 p_i \qquad (\text{a class with } p_i = 0 \text{ adds nothing}) $$

One pitch class only: $H = 0$. Seven pitch classes, equally often: $\log_2 7 \approx 2.81$. All twelve
equally often (a random chromatic tune): the maximum, $\log_2 12 \approx 3.58$. Tonal music sits below 3:
a few notes (the tonic, the fifth) dominate.

### Exercise 1 — pitch-class entropy

Write `my_pitch_class_entropy(piece)` that returns $H$ in bits, counting notes (not durations): loop
over `piece.notes` and use `note.pitch % 12`. The check runs your function on six pieces it keeps to
itself and compares with `M.pitch_class_entropy`.
"""),
("code", r"""
def my_pitch_class_entropy(piece):
    ### BEGIN SOLUTION
    counts = np.bincount([note.pitch % 12 for note in piece.notes], minlength=12)
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log2(p)).sum())
    ### END SOLUTION

q1.check(my_pitch_class_entropy)
"""),
("code", r"""
# q1.hint()
# q1.solution()
"""),
("code", r"""
entropy = q1.answer_or_reference(my_pitch_class_entropy)   # yours once it works, else the reference
for name, piece in [("real", real_tune), ("rule-based", rule_tune), ("random notes", noise_tune)]:
    print(f"{name:12s}: {entropy(piece):.2f} bits")
"""),
("md", r"""
## 5. Diversity: is it always the same?

A model can make pieces that are each fine and yet all alike. Two levels of diversity matter:

* **inside a piece** — `distinct_notes(piece, per="bar")`: how many different pitches start in a bar,
  on average; `repetition_rate(piece)`: the share of bars that repeat an earlier bar exactly (folk
  tunes repeat a lot — AABB form — but a model stuck in a loop repeats *everything*);
* **across pieces** — `distinct_n(sequences, n)`: the share of different n-grams among all the n-grams
  of a *set* of tunes, $\frac{\#\text{distinct } n\text{-grams}}{\#n\text{-grams}}$ (Li et al., 2016). A
  model that plays the same tune every time scores low even if each tune is varied inside. We count
  runs of 4 notes (pitch sequences): counted on tokens, the many HOLDs of long notes would dominate.

The LSTM at temperature 0 (always the likeliest token, lesson 03) is our test case:
"""),
("code", r"""
greedy = [as_tune(sampler.generate(128, temperature=0.0, seed=s)) for s in range(pick(10, 5))]
warm = [as_tune(sampler.generate(128, temperature=1.0, seed=s)) for s in range(pick(10, 5))]
real_few = real_melodies[:len(warm)]
for name, tunes in [("real", real_few), ("LSTM, temperature 1.0", warm), ("LSTM, temperature 0 (greedy)", greedy)]:
    pitch_lines = [[note.pitch for note in tune.notes] for tune in tunes]
    print(f"{name:28s}: repetition {np.nanmean([M.repetition_rate(t) for t in tunes]):.2f}, "
          f"different pitches per bar {np.nanmean([M.distinct_notes(t, per='bar') for t in tunes]):.1f}, "
          f"distinct 4-note runs across the set {M.distinct_n(pitch_lines, 4):.2f}")
print("every greedy tune is the same tune:", all(t.notes == greedy[0].notes for t in greedy))
plot_piano_roll(greedy[0], figsize=(11, 2.2), title="greedy LSTM")
plt.show()
play(greedy[0])
"""),
("md", r"""
Greedy decoding has no randomness: every "seed" gives the *same* tune, so the set's distinct 4-note runs
collapse, whatever each tune looks like inside. The GAN has the same failure in another form — **mode
collapse** (lesson 04) — and the same cure for spotting it: measure the *set*, not one sample.

## 6. Harmony: the right notes, together

* **scale consistency** — the largest share of notes that fit one major or natural-minor scale, over all
  24 keys: $\max_{\text{key}} \frac{\#\text{notes in the key's scale}}{\#\text{notes}}$. Needs no key; 1.0 = every note fits some key.
* **in-key ratio** — the share of notes in the piece's *own* key (in minor, the raised leading tone counts
  too). Needs the key: our pipe drops it, so we measure the original pieces here.
* **consonance ratio** — the share of intervals between notes sounding together that are consonant
  (unisons, thirds, fifths, sixths, octaves; a fourth over the bass counts as dissonant).
* **voice-leading violations** — lesson 02's checks (parallel fifths and octaves, crossing, spacing,
  leaps) on a piece with separate voices.
* **polyphony** — how many pitches sound at once, on average, while anything sounds (a melody: 1; a
  chorale: about 4).
"""),
("code", r"""
original = test_set[int(real_picks[1])]
rule_melody = rule_based_tune(3)
for name, piece in [("real tune (own key: " + str(original.key) + ")", original), ("rule-based (" + rule_melody.key + ")", rule_melody)]:
    print(f"{name:36s}: scale consistency {M.scale_consistency(piece):.2f}, in-key ratio {M.in_key_ratio(piece):.2f}")
"""),
("md", r"""
Three four-part textures: a Bach chorale from the test split, lesson 02's rule-based chorale, and four
bars from lesson 04's GAN (which makes one bar at a time, in C major / A minor).
"""),
("code", r"""
test_chorales = load_chorales().split("test")
bach = test_chorales[0].slice(0, 16)
rules_chorale = compose("C major", "classical", bars=4, harmonize="chorale", seed=2, tempo=80)
gan_phrase = G.bars_to_piece(G.generate_bars(generator, 4, seed=5, threshold=GAN_THRESHOLD), title="GAN, four bars")

textures = {"Bach (held out)": bach, "rule-based chorale": rules_chorale, "GAN": gan_phrase}
for name, piece in textures.items():
    print(f"{name:18s}: consonance {M.consonance_ratio(piece):.2f}, polyphony {M.polyphony(piece):.2f}, "
          f"{M.distinct_chords(piece):2d} different chords, pitch-class entropy {M.pitch_class_entropy(piece):.2f} bits")
fig, axes = plt.subplots(1, 3, figsize=(13, 3))
for ax, (name, piece) in zip(axes, textures.items()):
    plot_piano_roll(piece, ax=ax, title=name, legend=False)
plt.tight_layout()
plt.show()
"""),
("code", r"""
show_score(rules_chorale)
for name in ("Bach (held out)", "rule-based chorale"):
    problems = M.voice_leading_violations(textures[name])
    print(f"{name}: {len(problems)} voice-leading violations ({M.voice_leading_violations_per_bar(textures[name]):.2f} per bar)")
    for problem in problems[:3]:
        print("   ", problem)
print("GAN: no voices to check — its piano roll does not say which note belongs to which singer.")
"""),
("code", r"""
for name, piece in textures.items():
    print(name)
    display(play(piece))
"""),
("md", r"""
Notice two things. Bach breaks "rules" now and then — the textbook rules are a summary of his style,
not a law he obeyed. And the GAN cannot be checked at all: a metric needs the information it measures
to be in the representation. A piano roll has no voices.

## 7. Rhythm: when the notes happen

* the **duration histogram** — how often each of 12 note values occurs (whole, half, …, 16th, dotted
  and triplet values) and its **entropy** (0 = every note the same length);
* **empty-beat rate** — the share of beats in which nothing sounds;
* **groove consistency** — how alike the rhythm of neighbouring bars is:
  $1 - \frac{1}{T-1}\sum_i \frac{d(G_i, G_{i+1})}{\text{steps per bar}}$, where $G_i$ marks the steps
  of bar $i$ where a note starts and $d$ counts the steps where two bars differ (Wu & Yang, 2020);
* **on-beat ratio** — the share of onsets that fall on a beat;
* **syncopation** — the share of onsets that start off the beat and are held across the next one
  (the accent pulled forward, as in *short–long–short*).
"""),
("code", r"""
rhythm_pieces = {"real": real_tune, "rule-based": rule_tune, "Kneser-Ney": examples["Kneser-Ney 8-gram"],
                 "LSTM, T=1.0": examples["LSTM, temperature 1.0"]}
RHYTHM = ["duration_entropy", "empty_beat_rate", "groove_consistency", "on_beat_ratio", "syncopation", "mean_ioi"]
display(M.Table([{"piece": name, **M.describe(p, RHYTHM)} for name, p in rhythm_pieces.items()],
                title="rhythm of one piece each (mean_ioi: quarter notes from one onset to the next)"))
fig, axes = plt.subplots(1, 2, figsize=(12, 2.8))
plot_duration_histogram(real_tune, ax=axes[0], title="real tune: note values")
plot_duration_histogram(examples["LSTM, temperature 1.0"], ax=axes[1], title="LSTM tune: note values")
plt.tight_layout()
plt.show()
"""),
("md", r"""
**Check what you measure.** The pipe reads every tune in 4/4 from its first note. A tune that starts
with an upbeat is shifted: every onset moves off the beat, and the metrics call it syncopated. Here is
one real tune measured in its own meter (with its upbeat) and after the pipe:
"""),
("code", r"""
with_upbeat = next(p for p in melodies if p.meta.get("pickup") and tuple(p.time_signature) == (4, 4))
print(f"'{with_upbeat.title}', 4/4 with an upbeat of {with_upbeat.meta['pickup']:g} quarter notes")
for name, piece in [("in its own meter", with_upbeat), ("after the pipe", as_tune(with_upbeat))]:
    print(f"  {name:17s}: on-beat ratio {M.on_beat_ratio(piece):.2f}, syncopation {M.syncopation(piece):.2f}")
"""),
("md", r"""
Real and generated tunes pay this price alike (the models learnt upbeats too), so comparisons stay fair —
but a single number like "on-beat ratio 0.6" means little until you know how it was measured.

## 8. Set against set: the MGEval method

A generator is not one piece but a *distribution* of pieces. Any single sample can be lucky or unlucky;
what we want to know is whether the generated **set** looks like a real **set**. Yang and Lerch (*On the
evaluation of generative models in music*, 2020) proposed a method that works for any feature:

1. compute the feature for every piece of both sets (a number, or a histogram);
2. **intra-set distances**: between every two real pieces ($|x - y|$, Euclidean for histograms) — how
   much real tunes differ among themselves; likewise inside the generated set;
3. **inter-set distances**: between every generated and every real piece;
4. smooth each pile of distances into a density with a kernel density estimate (KDE);
5. compare the intra-real density $p$ with the inter-set density $q$:
   * **overlapped area** $OA = \int \min(p(x), q(x))\,dx$ — 1 when generated pieces sit among the real
     ones exactly as real ones sit among themselves, 0 when they are a different kind of music;
   * **KL divergence** $KL(p\,\|\,q) = \int p(x) \log \frac{p(x)}{q(x)}\,dx$ — 0 when alike, growing as they part.

**How to read the plot.** Blue: intra-set, real. Green: inter-set. Red dashed: intra-set, generated.
Green on top of blue: alike. Green shifted right of blue: generated pieces are further from real ones
than real ones are from each other. Red squeezed near 0: the generated pieces are all alike (low
diversity — a collapsed model).
"""),
("code", r"""
N_GEN = pick(100, 16)          # pieces per generator
kn_tunes = [as_tune(kneser_ney.sample(STEPS, seed=s), f"Kneser-Ney, seed {s}") for s in range(N_GEN)]
comparison = M.compare_sets(kn_tunes, real_melodies)
display(comparison)
fig, axes = M.plot_set_comparison(comparison)
plt.show()
"""),
("md", r"""
### Exercise 2 — which feature gives it away?

Here are 20 tunes from a **mystery generator** and 40 real held-out tunes, compared the same way.
Listen to one, then read the plot: on which feature does the mystery set differ most from the real
one? Answer with the feature's name as text, e.g. `"pitch_range"`.
"""),
("code", r"""
from musegen_helpers.lessons.lesson05 import mystery_sets, overlap_quiz

mystery, real_40 = mystery_sets()
play(mystery[0])
"""),
("code", r"""
quiz_comparison = overlap_quiz()
fig, axes = M.plot_set_comparison(quiz_comparison)
plt.show()
"""),
("code", r"""
### BEGIN SOLUTION
most_different = "mean_interval"
### END SOLUTION
q2.check(most_different)
"""),
("code", r"""
# q2.hint()
# q2.solution()
"""),
("md", r"""
## 9. Copying: has it learnt, or memorised?

A model that plays its training tunes back scores perfectly on every metric above — they *are* real
music. So every evaluation needs a copy check. With tokens this is exact string matching:

* **longest shared run** — the longest passage of a generated tune that also occurs in some training
  tune (`M.longest_shared_run`), and which training tune that is: its **nearest training tune**;
* **copy rate** — the share of a tune's 2-bar windows (32 steps) that occur somewhere in the training
  set (`M.copy_rate`).

Real tunes share formulas — a scale run, a cadence, and in folk music sometimes whole phrases, because
tunes travel and turn up in variants — so the baseline is not zero: compare with held-out real tunes,
which no model wrote.
"""),
("code", r"""
memoriser_tunes = [as_tune(memoriser.sample(STEPS, seed=s)) for s in range(pick(20, 8))]
longest_runs = {}
for name, tunes in [("real (held out)", real_melodies[:len(kn_tunes)]), ("Kneser-Ney 8-gram", kn_tunes),
                    ("memoriser (order 16)", memoriser_tunes)]:
    runs = longest_runs[name] = [M.longest_shared_run(t, train_tokens).length for t in tunes[:pick(6, 5)]]  # ~1 s each
    print(f"{name:22s}: copy rate {M.copy_rate(tunes, train_tokens):.2f}; longest shared run of {len(runs)} tunes: "
          f"median {np.median(runs):.0f} steps, longest {max(runs)} steps ({max(runs) / 16:.1f} bars of 4/4)")
worst_copy = memoriser_tunes[int(np.argmax(longest_runs["memoriser (order 16)"]))]   # its longest copy
"""),
("md", r"""
Listen to the memoriser's longest copy next to the training tune it comes from — the shaded stretch is
note for note the same:
"""),
("code", r"""
def show_copy(tune, label):
    "Plot and play a tune next to its nearest training tune, the shared passage shaded."
    run = M.longest_shared_run(tune, train_tokens)
    if run.length == 0:
        print(f"{label} shares nothing with the training tunes.")
        return
    source = as_tune(train_tokens[run.training_index], f"training tune: {train_set[run.training_index].title}")
    print(f"{label}: {run.length} steps ({run.length / 16:.1f} bars) shared with training tune "
          f"{run.training_index}, '{train_set[run.training_index].title}'")
    fig, axes = plt.subplots(2, 1, figsize=(11, 4))
    for ax, piece, start in [(axes[0], tune, run.generated_start), (axes[1], source, run.training_start)]:
        plot_piano_roll(piece, ax=ax)
        ax.axvspan(start / 4, (start + run.length) / 4, color="orange", alpha=0.25)
    axes[0].set_title(label)
    plt.tight_layout()
    plt.show()
    display(play(tune), play(source))


show_copy(worst_copy, "the memoriser's longest copy")
"""),
("md", r"""
### Exercise 3 — spot the copied melody

A model trained on the training split wrote these five tunes. One of them recites a training tune.
Which one? You can listen — but the training set has thousands of tunes, so measure: find, for each
tune, its longest run shared with `train_tokens`. Answer with the tune's letter.
"""),
("code", r"""
from musegen_helpers.lessons.lesson05 import copy_quiz

quiz = copy_quiz()                   # {'A': Piece, 'B': Piece, ...}
fig, axes = plt.subplots(len(quiz), 1, figsize=(11, 1.5 * len(quiz)), sharex=True)
for ax, (label, tune) in zip(axes, quiz.items()):
    plot_piano_roll(tune, ax=ax, title=f"tune {label}")
    ax.set_xlabel("")
plt.tight_layout()
plt.show()
"""),
("code", r"""
### BEGIN SOLUTION
runs = {label: M.longest_shared_run(tune, train_tokens).length for label, tune in quiz.items()}
copied_tune = max(runs, key=runs.get)
### END SOLUTION
print(runs)
q3.check(copied_tune)
"""),
("code", r"""
# q3.hint()
# q3.solution()
"""),
("code", r"""
suspect = q3.answer_or_reference(copied_tune)
show_copy(quiz[suspect], f"tune {suspect}")
"""),
("md", r"""
**Copy checks are easy to fool.** Exact matching misses a copy moved to another key, or one with a note
changed in every bar; Theis et al. (2016) make the same point about nearest-neighbour checks for images.
Matching intervals instead of pitches catches transposed copies; matching only the rhythm, or only the
pitches, catches more. No check proves a tune is original — it can only find copies it knows how to see.

## 10. The scoreboard

Now every generator of the course, against held-out real music, with the same metrics: one table and
one figure. Melody generators are compared with real melodies; the GAN, which makes four-voice bars,
is compared with real chorale bars in the same piano-roll form (moved to C major / A minor, 16 steps a
bar, a note held over a bar line struck again) — and so is the rule-based composer's chorale mode.
"""),
("code", r"""
melody_sets = {
    "rule-based": [as_tune(rule_based_tune(s)) for s in range(N_GEN)],
    "Markov chain (order 4)": [as_tune(markov.sample(STEPS, seed=s)) for s in range(N_GEN)],
    "memoriser (order 16)": [as_tune(memoriser.sample(STEPS, seed=s)) for s in range(N_GEN)],
    "Kneser-Ney 8-gram": kn_tunes,
}
for temperature in (0.8, 1.0, 1.2):
    melody_sets[f"LSTM T={temperature}"] = [as_tune(lstm_tokens(temperature, seed=s)) for s in range(N_GEN)]
melody_board = M.scoreboard(melody_sets, real_melodies, training=train_tokens)
"""),
("code", r"""
def four_bar_phrases(bars):
    "Cut one-bar piano rolls (n, 16, 48, 1) into four-bar phrases, as Pieces."
    return [G.bars_to_piece(bars[i:i + 4]) for i in range(0, len(bars) - 3, 4)]


N_PHRASES = pick(60, 12)
real_bars = G.chorale_bars(test_chorales)
real_phrases = four_bar_phrases(real_bars)[:pick(200, 40)]
gan_phrases = four_bar_phrases(G.generate_bars(generator, 4 * N_PHRASES, seed=1, threshold=GAN_THRESHOLD))
recipes = [("C major", "classical"), ("A minor", "minor"), ("G major", "pop"), ("D minor", "andalusian"),
           ("F major", "doo-wop"), ("E minor", "minor")]
rules_chorales = [compose(key, progression, bars=4, harmonize="chorale", seed=s)
                  for s, (key, progression) in zip(range(N_PHRASES), recipes * N_PHRASES)]
rules_phrases = four_bar_phrases(G.chorale_bars(rules_chorales))   # through the same piano-roll pipe

CHORALE_FEATURES = ["pitch_range", "n_pitch_classes_used", "pitch_class_entropy", "pitch_class_histogram",
                    "scale_consistency", "consonance_ratio", "polyphony", "distinct_chords",
                    "duration_histogram", "duration_entropy", "on_beat_ratio", "groove_consistency"]
chorale_board = M.scoreboard({"rule-based chorales": rules_phrases, "GAN": gan_phrases}, real_phrases,
                             features=CHORALE_FEATURES)
"""),
("code", r"""
def named_reference(rows, name):
    return [dict(row, system=name) if row["system"] == "reference (real)" else row for row in rows]


board = M.Scoreboard(
    named_reference(melody_board.rows, "real melodies (held out)")
    + named_reference(chorale_board.rows, "real chorale bars (held out)"),
    {**melody_board.comparisons, **chorale_board.comparisons},
    list(dict.fromkeys(melody_board.features + chorale_board.features)),
    title="scoreboard: every generator against held-out real music")

COLUMNS = ["system", "pieces", "mean_overlap", "mean_kl", "copy_rate", "pitch_class_entropy", "mean_interval",
           "repetition_rate", "on_beat_ratio", "consonance_ratio", "polyphony"]
summary = M.Table([{c: row.get(c, math.nan) for c in COLUMNS} for row in board],
                  title="mean_overlap: 1 = like the real set (higher is closer); copy_rate: share of 2-bar windows "
                        "found in the training tunes")
print(summary)
"""),
("code", r"""
fig, (ax_heat, ax_copy) = plt.subplots(1, 2, figsize=(16, 5.5), gridspec_kw={"width_ratios": [3, 1.1]})
M.plot_scoreboard(board, ax=ax_heat)
ax_heat.axhline(len(melody_sets) - 0.5, color="white", lw=4)     # above: melodies; below: chorale bars
melody_rows = [row for row in board if "copy_rate" in row and row["system"] in board.comparisons]
for i, row in enumerate(melody_rows):
    ax_copy.scatter(row["copy_rate"], row["mean_overlap"], s=30)
    ax_copy.annotate(row["system"], (row["copy_rate"], row["mean_overlap"]), fontsize=7,
                     xytext=(5, 3 if i % 2 else -9), textcoords="offset points")   # alternate: fewer overlaps
reference = board.row("real melodies (held out)")
ax_copy.axvline(reference["copy_rate"], color="grey", ls="--", lw=1)
ax_copy.text(reference["copy_rate"], ax_copy.get_ylim()[0], " real tunes", fontsize=7, color="grey", va="bottom")
ax_copy.set_xlabel("copy rate (2-bar windows found in training)")
ax_copy.set_ylabel("mean overlapped area with real music")
ax_copy.set_title("resemblance vs copying (melodies)", fontsize=10)
fig.tight_layout()
Path("my_music").mkdir(exist_ok=True)
fig.savefig("my_music/scoreboard.png", dpi=110, bbox_inches="tight")   # for your report
plt.show()
"""),
("md", r"""
**How to read the scoreboard.**

* Each cell of the heat map is one feature's overlapped area with the real set: 1 = as alike as real
  pieces are to each other. The *mean* over features is a summary, not a verdict — a system can be
  excellent on pitch and poor on rhythm, and only the row shows it.
* The **memoriser** ranks high on resemblance — it plays real tunes — and the right panel shows the
  catch: its copy rate is far above that of real held-out tunes (the dashed line). High resemblance *and* a
  high copy rate means recitation, not composition.
* **Temperature** trades resemblance against novelty: a lower temperature keeps the LSTM to its
  likeliest, most typical continuations — which are often passages it has seen, so look at its copy
  rate next to the real tunes' — while a higher temperature adds variety and strays from the style.
  Compare the three LSTM rows feature by feature.
* The chorale rows are a separate contest (a different reference): compare the GAN with the rule-based
  chorales, not with the melody generators. The rule-based chorales change chord once a bar, so every
  note is a whole note: look at their duration cells.
* None of these numbers says which music is *better*. They say which is more *like* the real music, on
  the features we chose to measure. For "better", ask people.

Which system would you pick for a folk-music app? Which numbers would you put in a paper, and what
would you say about their limits?

## 11. The listening test

Only listeners can say whether music is good. A listening test is an experiment, and three habits
keep it honest:

* **Blinding.** The listener never learns which system made which excerpt — only "A" and "B". Knowing
  a piece is "by the AI" or "by Bach" changes what people hear, and the experimenter's hopes leak
  through labels, file names and the order of the buttons.
* **Randomisation and balance.** Which systems meet, which excerpts are drawn and which one is "A" are
  decided at random (with a seed, so the plan can be reproduced), and every pair of systems comes up
  about equally often. Listeners favour the first (or the last) of a pair and tire over a session;
  randomising spreads these biases over all systems instead of piling them onto one.
* **Enough raters.** One listener's taste is not a population's, and answers from the same listener are
  not independent: collect from many people, a few pairs each.

Everything that is not the music is made equal: the same length (8 bars), the same tempo, the same
synthesiser. A pairwise preference ("which do you prefer?") is easier to answer consistently than a
score from 1 to 10.
"""),
("code", r"""
from musegen_helpers.listening import (ListeningTest, analyse, make_trials, merge_results, plot_results,
                                       read_results, save_answers, sign_test, wilson_interval)

EXCERPT = 128                 # 8 bars of 4/4
N_EXCERPTS = pick(12, 4)      # excerpts per system
no_end = np.arange(VOCAB_SIZE) != END   # excerpts run their full length: END is never drawn


def excerpt(tokens):
    return tokens_to_melody(np.asarray(tokens)[:EXCERPT], tempo=110)


long_enough = [i for i in real_picks if len(test_tokens[i]) >= EXCERPT]
listening_sets = {
    "real": [excerpt(test_tokens[i]) for i in long_enough[:N_EXCERPTS]],
    "rule-based": [excerpt(melody_to_tokens(compose(str(k), "pop", bars=8, seed=100 + s)))
                   for s, k in zip(range(N_EXCERPTS), MAJOR * N_EXCERPTS)],
    "Kneser-Ney 8-gram": [excerpt(kneser_ney.sample(EXCERPT, seed=100 + s, mask=no_end)) for s in range(N_EXCERPTS)],
    "LSTM T=1.0": [excerpt(sampler.generate(EXCERPT, temperature=1.0, seed=100 + s)) for s in range(N_EXCERPTS)],
}
print({name: len(pieces) for name, pieces in listening_sets.items()})
"""),
("md", r"""
Try it: write your name (or a nickname) below, run the cell, and answer the pairs. Every answer is saved
at once to `my_music/listening_<name>.csv`; if the notebook crashes, run the cell again and you go on
where you stopped. Each rater hears the pairs in their own random order.
"""),
("code", r"""
YOUR_NAME = "anonymous"
results_path = Path("my_music") / f"listening_{YOUR_NAME}.csv"
listening_test = ListeningTest(listening_sets, results_path, rater=YOUR_NAME, n_trials=12)
listening_test
"""),
("md", r"""
**In a class**, everyone does the test with their own name, then hands in their CSV file (a shared
folder, the course site's upload). The instructor puts the files in one folder and merges them:
`merge_results(sorted(folder.glob("listening_*.csv")))` reads them all and keeps a file handed in twice
only once. Then `analyse(answers)` computes, for each system:

* its **win rate** = wins / (wins + losses) — "no preference" answers are left out;
* a **95 % Wilson confidence interval** for that rate — the range of true preference rates the answers
  are compatible with; it is wide for few answers;
* a two-sided **sign test** p-value — how surprising the split would be if listeners had no preference.

So that this notebook runs by itself, here is the whole pipeline on **simulated** raters: each has a
hidden liking for each system plus a lot of personal noise. The numbers below are made up — replace
them by your class's files.
"""),
("code", r"""
import tempfile

demo_folder = Path(tempfile.mkdtemp(prefix="musegen_listening_demo_"))
appeal = {"real": 1.0, "LSTM T=1.0": 0.6, "rule-based": 0.4, "Kneser-Ney 8-gram": 0.2}   # made up
rng = np.random.default_rng(5)
for number, rater in enumerate(["ana", "ben", "chloe", "dev", "eun", "femi", "gus", "hana"][:pick(8, 5)]):
    answers = []
    for trial in make_trials(listening_sets, n_trials=12, seed=number):
        a, b = trial["system_a"], trial["system_b"]
        margin = appeal[a] - appeal[b] + rng.normal(0, 0.7)          # taste and attention vary
        preference = "none" if abs(margin) < 0.15 else ("A" if margin > 0 else "B")
        answers.append({**trial, "rater": rater, "session": "demo", "preference": preference,
                        "preferred_system": {"A": a, "B": b}.get(preference, "none"),
                        "confidence": int(np.clip(round(1 + 3 * abs(margin)), 1, 5)), "comment": "", "time": ""})
    save_answers(demo_folder / f"listening_{rater}.csv", answers)
print("files:", sorted(p.name for p in demo_folder.glob("*.csv")))
"""),
("code", r"""
answers = merge_results(sorted(demo_folder.glob("listening_*.csv")))
result = analyse(answers)
display(result)
fig, ax = plot_results(result)
plt.show()
"""),
("md", r"""
Read the plot as you would read any experiment: a bar whose interval crosses the dashed 50 % line is
not distinguishable from a coin toss with these answers. And with four systems there are six pairs —
test six things at the 5 % level and one may come out "significant" by luck (a Bonferroni or Holm
correction divides the threshold among the tests).

**The sign test.** Leave out the ties; $n$ listeners chose, $k$ of them the less preferred system. If
both systems were equally good, each choice would be a fair coin toss, and a split at least as uneven
as the one observed — in either direction — has the probability

$$ p = 2 \sum_{i=0}^{k} \binom{n}{i} \frac{1}{2^n} \qquad (\text{at most } 1), \qquad k = \min(\text{wins}, \text{losses}). $$

### Exercise 4 — a sign test by hand

A class compared the LSTM with the Markov chain; the answers are below. Compute the two-sided sign-test
p-value with `math.comb` (not with `sign_test` or scipy).
"""),
("code", r"""
from musegen_helpers.lessons.lesson05 import SIGN_TEST_ANSWERS
print(SIGN_TEST_ANSWERS)
"""),
("code", r"""
### BEGIN SOLUTION
n, k = 14 + 6, 6
p_value = 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n
### END SOLUTION
q4.check(p_value)
"""),
("code", r"""
# q4.hint()
# q4.solution()
"""),
("code", r"""
low, high = wilson_interval(14, 20)
print(f"sign_test(14, 6) = {sign_test(14, 6):.4f}")
print(f"the LSTM's win rate: 14/20 = 70 %, 95 % interval {low:.0%} to {high:.0%}")
"""),
("md", r"""
**How many answers are enough?** Suppose listeners truly prefer one system 60 % of the time. How likely
is a sign test on $n$ answers to notice ($p < 0.05$)? This chance is the test's *power*:
"""),
("code", r"""
from scipy.stats import binom


def power(n, true_rate, alpha=0.05):
    "The chance that a sign test on n answers gives p < alpha when listeners prefer one system true_rate of the time."
    significant = [k for k in range(n + 1) if sign_test(k, n - k) < alpha]
    return binom.pmf(significant, n, true_rate).sum()


print("answers   true preference 60 %   70 %   80 %")
for n in (10, 20, 50, 100, 200, 400):
    print(f"{n:7d}   {power(n, 0.6):20.0%} {power(n, 0.7):6.0%} {power(n, 0.8):6.0%}")
"""),
("md", r"""
A 60/40 preference needs a couple of hundred answers to be found reliably: a class of 20 people
answering 12 pairs each gives 240. Your own answers, once you have some:
"""),
("code", r"""
if results_path.exists():
    mine = read_results(results_path)
    print(f"{len(mine)} answers in {results_path}")
    display(analyse(mine))
else:
    print(f"no answers in {results_path} yet: use the listening test above, then run this cell again.")
"""),
("md", r"""
## Recap

* There is no single number for "good music". **Likelihood** measures prediction of held-out music; a
  model can have a good likelihood and bad samples (99 % noise) or great samples and an infinitely bad
  likelihood (a memoriser).
* **Metrics** are functions with formulas: pitch (range, pitch classes, entropy
  $H = -\sum p_i \log_2 p_i$), diversity (distinct notes and chords, distinct-n, repetition), harmony
  (scale consistency, in-key ratio, consonance, voice leading, polyphony), rhythm (note values, empty
  beats, groove, on-beat, syncopation). Measure real and generated music through the **same pipe**.
* Compare **sets**, not pieces: intra- and inter-set distances, their densities, **overlapped area**
  and **KL divergence** (MGEval); read the plot feature by feature.
* Always **check for copying** (longest shared run, nearest training tune, copy rate), against the
  baseline of real held-out tunes.
* The **scoreboard** puts every system side by side; resemblance is not quality.
* A **listening test** is an experiment: blind, randomised, balanced, with enough raters; report win
  rates with confidence intervals and sign tests.

**Where next:** build your own generator — a Transformer, a GAN over whole phrases, a model conditioned
on chords — and put it on this scoreboard, then in front of listeners.

## Further reading

* Lucas Theis, Aäron van den Oord, Matthias Bethge, "A note on the evaluation of generative models",
  ICLR 2016 — likelihood, samples and nearest neighbours can disagree.
* Li-Chia Yang, Alexander Lerch, "On the evaluation of generative models in music", *Neural Computing
  and Applications* 32, 2020 — the intra/inter-set method of section 8 (MGEval).
* Hao-Wen Dong, Ke Chen, Julian McAuley, Taylor Berg-Kirkpatrick, "MusPy: A toolkit for symbolic
  music generation", ISMIR 2020 — the metrics of sections 4–7, as a library.
* Christopher Ariza, "The interrogator as critic: the Turing test and the evaluation of generative
  music systems", *Computer Music Journal* 33(2), 2009 — why "could you tell it from a human?" is a
  weak test.
* Bob L. Sturm, Oded Ben-Tal, "Taking the models back to music practice: evaluating generative
  transcription models built using deep learning", *Journal of Creative Music Systems* 2(1), 2017 —
  evaluation with musicians, not only numbers.
* David Cope, *Computer Models of Musical Creativity* (MIT Press, 2005) — what it would mean for a
  program to be creative, from the author of EMI.
* Jiwei Li et al., "A diversity-promoting objective function for neural conversation models", NAACL 2016
  — distinct-n. Edwin B. Wilson, "Probable inference, the law of succession, and statistical
  inference", *JASA* 22, 1927 — the interval used in section 11.
"""),
]

write_notebook("solutions/05_evaluation.ipynb", cells, overwrite="--force" in sys.argv)
