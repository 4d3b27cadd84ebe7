import nbformat
from nbformat.v4 import new_notebook, new_markdown_cell as md, new_code_cell as code

cells = []
M = lambda s: cells.append(md(s.strip("\n")))
C = lambda s: cells.append(code(s.strip("\n")))

M(r"""
# 04 · A GAN that writes one bar of Bach

A **generative adversarial network** (GAN) is two networks in a contest. The **generator** turns random
numbers into a piece of music; the **discriminator** sees real music and generated music and learns to tell
them apart; the generator learns from the discriminator's verdicts to fool it. Neither ever sees a rule of
harmony — yet after a few minutes of training on Bach's chorales the generator writes bars that sound like
four voices singing in C major.

GANs are also famous for failing in ways you can *hear*. In this lesson you make them fail on purpose,
measure the failures, and fix them.

**You will learn to**
1. turn Bach's chorales into one-bar piano rolls a convolutional network can read, and say why each choice was made,
2. build a DCGAN generator and discriminator in Keras 3 and read its `train_step` (you write the discriminator's loss),
3. watch a GAN train, with pictures, loss curves and sound,
4. recognise the classic failures — early clusters and silence, a discriminator that wins, mode collapse,
   fragmented notes — from their numbers and their sound,
5. fix them with label smoothing, balanced learning rates, WGAN-GP and a well-chosen binarisation threshold,
6. judge generated bars with MuseGAN's quality metrics, and walk the latent space with a slider.

⏱ **Time:** about 90 minutes (4 exercises); training takes about 7 minutes on a laptop CPU
(under a minute in fast mode).
""")

C(r"""
from musegen_helpers.config import FAST, pick

import inspect

import numpy as np
import matplotlib.pyplot as plt

from musegen_helpers import play, show_score, plot_piano_roll
from musegen_helpers.datasets import load_chorales
from musegen_helpers.models import gan as G   # loads Keras + TensorFlow (quietly)
from keras import ops
from musegen_helpers.lessons.lesson04 import ____, q1, q2, q3, q4

print("fast mode" if FAST else "normal mode")
""")

M(r"""
## 1. Listen first: a GAN that is already trained

The course ships a small generator (`musegen_helpers/models/pretrained/gan_generator.keras`, 1 MB) that
`scripts/train_pretrained_gan.py` trained on every 4/4 bar of the Bach chorales. It reads 64 random numbers
(a point in its **latent space**) and draws one bar: 16 sixteenth-note steps × 48 pitches (C2–B5).
Each new set of random numbers gives a new bar.
""")

C(r"""
pretrained, info = G.load_pretrained_generator()
print(f"trained for {info['epochs']} epochs on {info['data']['bars']} bars "
      f"({info['train_seconds'] / 60:.0f} minutes on a 2-core CPU)")
first_bars = G.generate_bars(pretrained, 16, seed=0)
G.plot_bars(first_bars, titles=[f"noise seed 0, bar {i}" for i in range(16)])
plt.show()
""")

M(r"""
Each little picture is a piano roll of one bar: time runs left to right (the red lines are the beats),
pitch goes up (the blue lines are the Cs). Four bars in a row make a phrase — listen:
""")

C(r"""
phrase = G.bars_to_piece(first_bars[:4], title="GAN, noise seed 0")
play(phrase)
""")

C(r"""
show_score(phrase)
""")

C(r"""
plot_piano_roll(phrase, title="four generated bars in a row")
plt.show()
""")

M(r"""
What to listen for: chords that mostly stay in C major / A minor, four-ish voices, notes held for beats
rather than flickering. What is missing: any sense of a *phrase* — each bar was drawn on its own, so
bar 2 does not answer bar 1. (Lesson 03's LSTM has the opposite strengths.)

## 2. The data: one bar of Bach as a picture

A GAN for images learns from pictures that all have the same size. We cut the chorales into bars and
turn each into a piano roll. Every choice below makes the pictures more alike, so that a small network
spends its effort on the music, not on the bookkeeping:

| choice | why |
|---|---|
| **16 steps per bar** (a sixteenth-note grid) | the shortest notes in the chorales are sixteenths; a finer grid only adds empty columns |
| **4/4 bars only** — 3/4 chorales (about 1 in 10) are skipped | padding a 3-beat bar to 16 steps would teach the generator that bars often end in a silent beat, and it could not know which bars are "3/4 bars" |
| **bar lines from the pickup** (`piece.meta["pickup"]`) | most chorales start with an upbeat; cutting from 0 would put bar lines in the middle of the bar |
| **every piece moved to C major / A minor** | the generator learns one set of "in-key" pitches instead of twelve |
| **48 pitches, C2–B5** | after transposition 99.8 % of the notes fall in this range; the rest are dropped |
| **values 0 or 1**, generator ending in a **sigmoid** | each output cell reads as "the chance that this pitch sounds on this step"; one threshold turns it into notes (section 8). The other common choice, [-1, 1] with `tanh`, is what image GANs use; for on/off cells a chance is easier to read |
| **empty bars dropped** | a rest bar is not what we want to learn |
""")

C(r"""
chorales = load_chorales(limit=pick(None, 40))
bars, sources = G.chorale_bars(chorales, return_sources=True)
print(f"{len(chorales)} chorales -> {len(bars)} bars, each of shape {bars.shape[1:]} (steps, pitches, channel)")
print(f"{bars.mean():.1%} of the cells are on: a bar is mostly silence")
""")

C(r"""
piece_index, start, shift = sources[0]
print(f"bar 1 of {chorales[piece_index].title!r}, starting at quarter note {start}, moved {shift:+d} semitones")
real_phrase = G.bars_to_piece(bars[:4], title="Bach, four bars as the GAN sees them")
G.plot_bars(bars[:16], titles=[f"real bar {i}" for i in range(16)])
plt.show()
play(real_phrase)
""")

M(r"""
Cutting at bar lines has a price you can hear: a note tied over the bar line is struck again, and two
repeated notes in a row merge into one long note (a plain piano roll cannot tell them apart). Decoding a
bar goes through a `Piece`, like every conversion in the course, so the round trip is exact for the roll:
""")

C(r"""
from musegen_helpers.representation import piano_roll

one_bar = G.bar_to_piece(bars[0])
print(one_bar)
back = piano_roll(one_bar, steps_per_quarter=4, lowest_pitch=G.LOWEST_PITCH,
                  highest_pitch=G.LOWEST_PITCH + G.N_PITCHES - 1, n_steps=16).T
print("bar -> Piece -> piano roll gives the same bar:", np.array_equal(back, bars[0, :, :, 0] > 0.5))
""")

M(r"""
## 3. Two networks

The **generator** is a DCGAN generator (Radford et al., 2016): a `Dense` layer spreads the 64 random
numbers over a small 4 × 12 grid of features, then two `Conv2DTranspose` layers each double the time and
pitch resolution (4 × 12 → 8 × 24 → 16 × 48), and a last `Conv2D` — one octave tall — with a sigmoid
gives the chance of every cell. The **discriminator** runs the other way: two strided `Conv2D` layers
shrink the bar, `Dense(1)` gives one number, a *logit*: positive means "looks real".
""")

C(r"""
generator = G.build_generator(latent_dim=64, filters=32)
discriminator = G.build_discriminator(filters=32)
generator.summary()
discriminator.summary()
""")

M(r"""
Before training, every cell of the generator's output is close to 0.5 — it has no idea that a bar is
mostly silence. At the threshold 0.5 about half the cells become notes: a tone cluster, not music.
""")

C(r"""
untrained = G.generate_bars(generator, 4, seed=0, threshold=None)
print(f"untrained output: chances between {untrained.min():.2f} and {untrained.max():.2f}")
G.plot_bars(untrained, titles=["untrained"] * 4)
plt.show()
play(G.bars_to_piece(untrained[:1], tempo=120))
""")

M(r"""
### The losses

The discriminator is a binary classifier: real bars have label 1, generated bars label 0. Its output is a
logit $\ell$; the chance it gives to "real" is $\sigma(\ell) = 1 / (1 + e^{-\ell})$. Binary cross-entropy is

$$ \text{real bar: } -\log \sigma(\ell) = \operatorname{softplus}(-\ell), \qquad
   \text{generated bar: } -\log(1 - \sigma(\ell)) = \operatorname{softplus}(\ell). $$

The discriminator's loss is the mean over the batch of each, the two halves averaged: a discriminator
that guesses ($\ell = 0$ for everything) scores $\ln 2 = 0.693$, one that is always right and sure scores 0.
The generator's loss is the mirror image: it wants its bars called real, $\operatorname{softplus}(-\ell)$ on
its own bars.

### Exercise 1 — write the discriminator's loss

`real_logits` and `fake_logits` are arrays of shape `(batch, 1)`. Use `ops.softplus` and `ops.mean`
(`keras.ops` works on numpy arrays and on tensors alike).
""")

C(r"""
def my_discriminator_loss(real_logits, fake_logits):
    ### BEGIN SOLUTION
    real_loss = ops.mean(ops.softplus(-real_logits))   # real bars, label 1
    fake_loss = ops.mean(ops.softplus(fake_logits))    # generated bars, label 0
    return 0.5 * (real_loss + fake_loss)
    ### END SOLUTION
""")

C(r"""
q1.check(my_discriminator_loss)
""")

M(r"""
Here is one training step of the course's GAN. It is the Keras 3 idiom of the keras-io example
`dcgan_overriding_train_step.py`: subclass `keras.Model`, override `train_step`, and let `fit` run the
loop. First the discriminator takes a step on a batch of real bars and a batch of generated ones; then the
generator takes a step through the (fixed) discriminator.
""")

C(r"""
print(inspect.getsource(G.BarGAN.train_step))
""")

M(r"""
## 4. Train it

`G.make_gan` builds the pair and compiles it with the DCGAN paper's optimiser (Adam, learning rate
2·10⁻⁴, β₁ = 0.5). `G.train_gan` trains with a progress bar; every few epochs it redraws the loss
curves, 16 bars made from the same fixed noise, and the quality numbers of section 9.
Watch the bars go from clusters to chords.
""")

C(r"""
EPOCHS = pick(20, 2)
dcgan = G.make_gan(recipe="dcgan", filters=32, seed=0)
dcgan_log = G.train_gan(dcgan, bars, epochs=EPOCHS, batch_size=64, every=pick(5, 1))
""")

C(r"""
print(f"{dcgan_log.epochs} epochs in {dcgan_log.seconds:.0f} s; last d_loss {dcgan_log.last('d_loss'):.3f}, "
      f"g_loss {dcgan_log.last('g_loss'):.3f}")
play(dcgan_log.sample_piece)
""")

M(r"""
Read the loss curves with care: a GAN's losses do not go down together. The discriminator's loss sits
somewhere between 0.3 and 0.7 while the game is balanced; the generator's is usually higher. What tells
you that the *music* improves is the quality numbers and your ears, not the losses.

## 5. Early training: clusters, fragments, silence

What happens in the first hundred steps? Let's train a fresh GAN on a handful of bars, stopping every
4 steps to look. The untrained generator makes dense clusters; it first learns *that* most cells are off,
long before it learns *which* — on the way the bars go thin, some go silent, and every note is a fragment
one or two sixteenths long.
""")

C(r"""
early = G.make_gan(recipe="dcgan", filters=32, seed=0)
few_bars = bars[:256]                     # 4 batches of 64: one "epoch" = 4 steps
early_log, snapshots = None, []
for stage in range(pick(6, 2)):
    early_log = G.train_gan(early, few_bars, epochs=pick(4, 1), batch_size=64, every=1, show=False,
                            log=early_log)
    snapshots.append(early_log.sample[:4])
print(" steps  notes/bar  empty bars  qualified notes  pitch classes")
for epoch, q in early_log.checks:
    print(f"{epoch * 4:6d} {q['notes per bar']:10.1f} {q['empty bar rate']:11.0%} "
          f"{q['qualified note rate']:16.2f} {q['used pitch classes']:14.1f}")
rows = np.concatenate(snapshots)
G.plot_bars(rows, ncols=4, titles=[f"after {4 * pick(4, 1) * (i // 4 + 1)} steps" for i in range(len(rows))])
plt.show()
play(G.bars_to_piece(snapshots[-1], tempo=120))
""")

M(r"""
Nothing is wrong here yet — it is the start of the game. It becomes a failure only when it *stays* like
this, which is what the next two experiments provoke.

## 6. Failure: a discriminator that wins

The discriminator learns 20 times faster than the generator (`d_learning_rate=1e-3`,
`g_learning_rate=5e-5`): it soon tells every real bar from every generated one with near certainty. Its loss
drops towards 0, `D(real)` → 1, `D(fake)` → 0 — and the generator's gradient, which comes *through* the
discriminator's verdict, carries almost no information about how to improve.
""")

C(r"""
winning = G.make_gan(recipe="winning_discriminator", filters=32, seed=0)
winning_log = G.train_gan(winning, bars, epochs=pick(8, 1), batch_size=64, every=pick(4, 1))
h = winning_log.history
print("epoch  d_loss  g_loss  D(real)  D(fake)")
for e in range(len(h["d_loss"])):
    print(f"{e + 1:5d} {h['d_loss'][e]:7.3f} {h['g_loss'][e]:7.2f} {h['real_score'][e]:8.3f} {h['fake_score'][e]:8.3f}")
play(winning_log.sample_piece)
""")

M(r"""
### Exercise 2 — name the failure

A friend sends you the last line of their training log:

| d_loss | g_loss | D(real) | D(fake) | notes per bar | qualified note rate | diversity |
|---|---|---|---|---|---|---|
| 0.002 | 7.5 | 0.999 | 0.001 | 8.2 | 0.79 | 0.85 |

Which failure is it? Answer with one of `"empty output"`, `"winning discriminator"`, `"mode collapse"`,
`"fragmented notes"`.
""")

C(r"""
### BEGIN SOLUTION
failure = "winning discriminator"
### END SOLUTION
q2.check(failure)
""")

M(r"""
## 7. Failure: mode collapse

Now the opposite imbalance: a slow discriminator (`5e-5`) and a generator that leaps (`2e-3`). The
generator finds one bar the discriminator currently likes and sends *every* noise vector there; when the
discriminator catches up, it jumps to another. The result: the same bar over and over.
""")

C(r"""
collapsing = G.make_gan(recipe="mode_collapse", filters=32, seed=0)
collapse_log = G.train_gan(collapsing, bars, epochs=pick(10, 1), batch_size=64, every=pick(5, 1))
collapsed_bars = G.generate_bars(collapsing.generator, pick(1000, 200), seed=1)
G.plot_bars(collapsed_bars[:16])
plt.show()
play(G.bars_to_piece(collapsed_bars[:4]))
""")

C(r"""
for name, b in [("real", bars[:len(collapsed_bars)]), ("mode_collapse", collapsed_bars),
                ("dcgan", G.generate_bars(dcgan.generator, len(collapsed_bars), seed=1))]:
    print(f"{name:14s} unique fraction {G.unique_fraction(b):.2f}   diversity {G.diversity(b):.2f}")
""")

M(r"""
Counting **unique** bars is the obvious test — and it can be fooled: a collapsed generator whose copies
differ in a couple of flickering cells makes every bar "unique". **Diversity** (`G.diversity`) measures how
much two random bars overlap: the mean Jaccard distance $1 - |A \cap B| / |A \cup B|$ of their "on" cells.
Bach's bars score about 0.9; copies of one bar score near 0.

### Exercise 3 — a mode-collapse detector

Write `is_collapsed(bars)` that returns `True` for a collapsed set of bars and `False` for a varied one.
The check runs it on five hidden sets, including one whose bars are all "unique".
""")

C(r"""
def is_collapsed(bars):
    ### BEGIN SOLUTION
    return G.diversity(bars) < 0.5   # Bach's bars: about 0.9; copies of one bar: near 0
    ### END SOLUTION
""")

C(r"""
q3.check(is_collapsed)
""")

M(r"""
## 8. Silence, fragments, and the binarisation threshold

The generator outputs *chances*; a threshold turns them into notes. For a well-trained generator the
choice hardly matters — it is sure of itself, nearly every chance is close to 0 or 1. Early in training it
matters a lot. The course also ships the pretrained generator's run **stopped after its first epoch**
(64 steps). At the usual threshold of 0.5 it looks like a generator that writes silence:
""")

C(r"""
early_generator, early_info = G.load_pretrained_generator(early=True)
early_probs = G.generate_bars(early_generator, 500, seed=3, threshold=None)
at_half = G.quality(G.binarize(early_probs, 0.5))
print(f"at 0.5: {at_half['notes per bar']:.1f} notes per bar, {at_half['empty bar rate']:.0%} of bars empty, "
      f"{at_half['used pitch classes']:.1f} pitch classes")
print(f"its chances: {np.mean(early_probs > 0.5):.2%} of cells above 0.5, {np.mean(early_probs > 0.3):.2%} above 0.3; "
      f"Bach's bars have {bars.mean():.1%} of cells on")
G.plot_bars(G.binarize(early_probs[:8], 0.5), titles=["after 1 epoch, threshold 0.5"] * 8)
plt.show()
play(G.bars_to_piece(G.binarize(early_probs[:4], 0.5)))
""")

M(r"""
It has learnt *that* a bar is mostly silence, and roughly where the voices go, but it is unsure: its
chances sit below 0.5. That is the "empty output early in training" you will meet in GAN papers and
forums — and part of the cure is on our side, in the binarisation.

### Exercise 4 — choose a threshold

Too low a threshold turns faint cells into notes (mush); too high silences real notes (thin bars, empty
bars). Try thresholds on `early_probs` and choose one whose bars hold as many notes and pitch classes per
bar as Bach's (within 20 %), with no bar empty.
""")

C(r"""
real_quality = G.quality(bars)
print(f"Bach: {real_quality['notes per bar']:.1f} notes and {real_quality['used pitch classes']:.1f} "
      f"pitch classes per bar")
for t in [0.1, 0.3, 0.5, 0.7]:
    q = G.quality(G.binarize(early_probs, t))
    print(f"threshold {t:.2f}: {q['notes per bar']:5.1f} notes, {q['used pitch classes']:4.1f} pitch classes, "
          f"{q['empty bar rate']:4.0%} empty")
""")

C(r"""
### BEGIN SOLUTION
threshold = 0.35
### END SOLUTION
q4.check(threshold)
""")

C(r"""
chosen = q4.answer_or_reference(threshold)
at_chosen = G.quality(G.binarize(early_probs, chosen))
print(f"at {chosen}: {at_chosen['notes per bar']:.1f} notes per bar, but a qualified-note rate of "
      f"{at_chosen['qualified note rate']:.2f} (Bach: {real_quality['qualified note rate']:.2f})")
G.plot_bars(G.binarize(early_probs[:8], chosen), titles=[f"threshold {chosen}"] * 8)
plt.show()
play(G.bars_to_piece(G.binarize(early_probs[:4], chosen)))
""")

M(r"""
The threshold fixed the *density* — and revealed the next problem: **fragmented notes**. Almost every note
is one or two sixteenths long; the **qualified note rate** (the fraction of notes at least 3 sixteenths
long, from MuseGAN) is near 0. Only training fixes that: the fully trained generator holds its notes.

How you binarise can also *cause* fragments. MuseGAN (Dong et al., 2018) compared hard thresholding with
**Bernoulli sampling** (each cell on with its own chance). Sampling flips every cell independently: where the
generator is sure (chances near 0 or 1) it changes little; where it is unsure it scatters short notes.
""")

C(r"""
probs = G.generate_bars(pretrained, pick(1000, 200), seed=3, threshold=None)
hard = G.binarize(probs, 0.5)
sampled = G.binarize(probs, "sample", seed=3)
for name, b in [("Bach", bars), ("trained, threshold 0.5", hard), ("trained, Bernoulli sampling", sampled),
                ("1 epoch, threshold " + str(chosen), G.binarize(early_probs, chosen)),
                ("1 epoch, Bernoulli sampling", G.binarize(early_probs, "sample", seed=3))]:
    q = G.quality(b)
    print(f"{name:30s} qualified notes {q['qualified note rate']:.2f}   notes per bar {q['notes per bar']:5.1f}")
""")

M(r"""
The trained generator hardly notices the difference; the unsure one turns into a cloud of blips — listen:
""")

C(r"""
play(G.bars_to_piece(G.binarize(early_probs[:4], "sample", seed=3)))
""")

M(r"""
## 9. The fixes

Three standard remedies, each aimed at keeping the game balanced:

* **One-sided label smoothing** (Salimans et al., 2016): label real bars 0.9 instead of 1. The
  discriminator is never rewarded for being *certain*, so its verdicts keep a useful slope for the generator.
  (`recipe="label_smoothing"`.) The shipped generator was trained this way.
* **Balanced learning rates**: the two failures above came from the learning rates; the DCGAN paper's
  equal 2·10⁻⁴ is a good start, and a slower discriminator (`recipe="balanced_rates"`: 1·10⁻⁴ vs 4·10⁻⁴)
  is the usual nudge when it wins.
* **WGAN-GP** (Gulrajani et al., 2017): replace the classifier by a *critic* that scores bars (no sigmoid)
  and estimates how far apart real and generated bars are (the Wasserstein distance). A **gradient penalty**
  keeps the critic's slope near 1 between real and fake bars, and the critic trains 5 steps per generator
  step. Its score keeps giving direction even when the critic wins — the failure of section 6 cannot starve it.
""")

C(r"""
print(inspect.getsource(G.gradient_penalty))
""")

C(r"""
smoothed = G.make_gan(recipe="label_smoothing", filters=32, seed=0)
smoothed_log = G.train_gan(smoothed, bars, epochs=EPOCHS, batch_size=64, every=pick(10, 1))
""")

C(r"""
wgan = G.make_gan(recipe="wgan_gp", filters=32, seed=0)
wgan_log = G.train_gan(wgan, bars, epochs=pick(5, 1), batch_size=64, every=pick(5, 1))
print(f"the critic's distance estimate fell from {wgan_log.history['w_distance'][0]:.2f} "
      f"to {wgan_log.last('w_distance'):.2f}")
play(wgan_log.sample_piece)
""")

M(r"""
### The quality table

MuseGAN's metrics (Dong et al., 2018), plus two for variety, over 1 000 bars each (200 in fast mode):

* **used pitch classes** per bar (UPC): about 7 for Bach — a scale's worth; random notes give 12, one note 1;
* **qualified note rate** (QN): the fraction of notes ≥ 3 sixteenths (MuseGAN counts ≥ 3 of its 24 steps per
  beat; our grid is coarser, so compare with the real bars, not with 1);
* **empty bar rate**; **unique fraction** and **diversity** (mode collapse); **polyphony** (voices at once) and
  **notes per bar**.

Close to the "real" column is good; *equal* is not the goal — a generator that copied its training bars
would score perfectly here (lesson 05 checks for copying).
""")

C(r"""
n = pick(1000, 200)
rng = np.random.default_rng(0)
real_sample = bars[rng.choice(len(bars), size=min(n, len(bars)), replace=False)]
table = G.quality_table(
    real_sample,
    dcgan=G.generate_bars(dcgan.generator, n, seed=1),
    winning_disc=G.generate_bars(winning.generator, n, seed=1),
    collapsed=G.generate_bars(collapsing.generator, n, seed=1),
    smoothed=G.generate_bars(smoothed.generator, n, seed=1),
    wgan_gp=G.generate_bars(wgan.generator, n, seed=1),
    pretrained=G.generate_bars(pretrained, n, seed=1),
)
table
""")

C(r"""
for name in table.columns[1:]:
    print(f"{name:13s} pitch classes x{table.ratio('used pitch classes', name):.2f}  "
          f"qualified notes x{table.ratio('qualified note rate', name):.2f}  "
          f"diversity x{table.ratio('diversity', name):.2f}")
""")

M(r"""
How to read it (in normal mode; fast mode trains too little for the numbers to mean much):

* the **winning discriminator**'s generator writes thin bars — about half Bach's pitch classes and notes;
* the **collapsed** generator's diversity is near 0 although most of its bars are "unique", and its notes
  are fragments (qualified-note rate far below Bach's);
* plain **DCGAN** and **label smoothing** land within about 10 % of Bach on every number after 20 epochs;
  label smoothing's gain is stability over long runs, which 20 epochs are too short to show;
* **WGAN-GP** never collapses and its diversity matches Bach's, but each epoch costs 5 critic steps, and after
  5 epochs it still writes busier bars (more pitch classes) than Bach — it needs more epochs, not other settings;
* the **pretrained** generator (label smoothing, 60 epochs) is within 2 % of Bach on pitch classes and
  qualified notes.
""")

M(r"""
## 10. Walk the latent space

Every bar the generator makes is a point in a 64-dimensional space of noise. Nearby points make similar
bars; a path from one point to another morphs one bar into the other. Move the slider and listen — the
bars along the path are generated once, so each move sounds at once. (The path is a *spherical*
interpolation: it stays at the distance from the origin that random noise has, so the middle of the path
sounds like a typical bar rather than a washed-out average.)
""")

C(r"""
G.latent_walk_widget(pretrained, seed_start=1, seed_end=2, positions=9)
""")

M(r"""
The same walk, strung into a phrase: eight bars from seed 1 to seed 2 and back to where it started.
Because neighbouring bars are close in the latent space, the phrase hangs together better than eight
random bars.
""")

C(r"""
start, end = G.latent_points(1, 64, seed=1)[0], G.latent_points(1, 64, seed=2)[0]
path = G.interpolate_latent(start, end, [0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 0.5, 0.0])
walk = np.asarray(pretrained(path, training=False)) > 0.5
walk_phrase = G.bars_to_piece(walk, title="a walk through the latent space")
G.plot_bars(walk, ncols=8, titles=[f"t = {t}" for t in [0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 0.5, 0.0]])
plt.show()
play(walk_phrase)
""")

C(r"""
show_score(walk_phrase)
""")

M(r"""
## Recap

* A GAN is a contest: the discriminator learns to tell real bars from generated ones, the generator learns
  from its verdicts. In Keras 3 that is a `keras.Model` with its own `train_step`.
* The data choices — one 4/4 bar, a sixteenth-note grid, one key, a cropped pitch range, values in {0, 1}
  with a sigmoid — make the pictures alike so that a small network can learn the music.
* Losses do not tell you whether the music improves; quality numbers (used pitch classes, qualified notes,
  empty bars, diversity) and your ears do.
* Failures have signatures: early clusters then thin, fragmented bars; a winning discriminator
  (d_loss → 0, D(real) → 1, D(fake) → 0); mode collapse (diversity → 0, even when every bar is "unique");
  fragmented notes (low qualified-note rate, e.g. from Bernoulli sampling).
* Fixes: label smoothing, balanced learning rates, WGAN-GP's critic and gradient penalty, and a threshold
  chosen against the real data.
* What one-bar GANs cannot do: phrases. MuseGAN adds a time-structure generator across bars; lesson 03's
  LSTM models time directly.

**Next:** [05 · Evaluation](05_evaluation.ipynb) — diversity, harmony, rhythm, copying checks and a blind
listening test.

## Further reading

* Ian Goodfellow et al., "Generative Adversarial Nets", *NeurIPS* 2014 — the original GAN.
* Alec Radford, Luke Metz, Soumith Chintala, "Unsupervised Representation Learning with Deep Convolutional
  GANs" (DCGAN), *ICLR* 2016.
* Tim Salimans et al., "Improved Techniques for Training GANs", *NeurIPS* 2016 — one-sided label smoothing.
* Martin Arjovsky, Soumith Chintala, Léon Bottou, "Wasserstein GAN", *ICML* 2017; Ishaan Gulrajani et al.,
  "Improved Training of Wasserstein GANs" (WGAN-GP), *NeurIPS* 2017.
* Li-Chia Yang, Szu-Yu Chou, Yi-Hsuan Yang, "MidiNet: A Convolutional GAN for Symbolic-Domain Music
  Generation", *ISMIR* 2017.
* Hao-Wen Dong, Wen-Yi Hsiao, Li-Chia Yang, Yi-Hsuan Yang, "MuseGAN: Multi-track Sequential GANs for Symbolic
  Music Generation and Accompaniment", *AAAI* 2018 — the UPC / QN / EB metrics used here, and
  thresholding vs Bernoulli sampling.
* Tom White, "Sampling Generative Networks", 2016 — spherical interpolation in latent space.
* Jean-Pierre Briot, Gaëtan Hadjeres, François-David Pachet, *Deep Learning Techniques for Music Generation*
  (Springer, 2020), chapter on GANs.
* The keras-io examples `dcgan_overriding_train_step.py` and `wgan_gp.py`, which this lesson's code follows.
* David Cope, *Computer Models of Musical Creativity* (MIT Press, 2005) — what it would take for such a
  model to be *creative*.
""")

nb = new_notebook(cells=cells, metadata={
    "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
    "language_info": {"name": "python"}})
nbformat.write(nb, "/work/main/solutions/04_gan.ipynb")
print(len(cells), "cells")
