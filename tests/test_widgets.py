"""Controls that regenerate music (musegen_helpers.widgets)."""

import pytest

ipywidgets = pytest.importorskip("ipywidgets")

from musegen_helpers.music import melody  # noqa: E402
from musegen_helpers.widgets import MusicControls, music_controls  # noqa: E402


def make_scale(root, length):
    """A rising scale of ``length`` quarter notes from MIDI pitch ``root``."""
    if length == 0:
        raise ValueError("a melody needs at least one note: move the length slider up")
    return melody([root + step for step in (0, 2, 4, 5, 7, 9, 11, 12)[:length]], 1.0)


def _controls():
    return {"root": ipywidgets.IntSlider(value=60, min=40, max=80),
            "length": ipywidgets.IntSlider(value=4, min=0, max=8)}


def test_first_update_runs_right_away(capsys):
    mc = music_controls(make_scale, _controls())
    assert isinstance(mc, MusicControls)
    assert mc.piece.pitches == [60, 62, 64, 65]
    assert set(mc.timings) == {"make", "sound", "roll", "score"}
    assert all(t >= 0 for t in mc.timings.values())
    assert mc.error is None
    assert mc.values() == {"root": 60, "length": 4}


def test_moving_a_control_changes_the_piece(capsys):
    mc = music_controls(make_scale, _controls(), show=("sound", "roll"))
    mc.timings = {}
    mc.controls["root"].value = 67
    assert mc.piece.pitches == [67, 69, 71, 72]
    assert set(mc.timings) == {"make", "sound", "roll"}  # filled again by the update
    mc.controls["length"].value = 6
    assert len(mc.piece.notes) == 6


def test_an_error_is_shown_in_the_widget_not_raised(capsys):
    mc = music_controls(make_scale, _controls(), show=("sound",))
    before = mc.piece
    mc.controls["length"].value = 0  # make_scale raises ValueError: no exception escapes
    assert mc.error == "a melody needs at least one note: move the length slider up"
    assert mc.piece is before  # the last good piece stays
    assert mc.update() is False
    mc.controls["length"].value = 2
    assert mc.error is None and mc.piece.pitches == [60, 62]


def test_without_auto_only_the_button_regenerates(capsys):
    mc = music_controls(make_scale, _controls(), show=("sound",), auto=False, run=False)
    assert mc.piece is None
    mc.controls["root"].value = 50
    assert mc.piece is None
    mc.button.click()
    assert mc.piece.pitches == [50, 52, 54, 55]


def test_the_box_holds_controls_button_and_outputs(capsys):
    mc = music_controls(make_scale, _controls(), show=("sound", "score"), run=False)
    assert isinstance(mc.box, ipywidgets.VBox)
    children = mc.box.children
    assert mc.button in children and mc.message in children and mc.sound in children
    assert mc.score in children and mc.roll not in children


def test_score_is_set_as_the_outputs_contents_and_replaced_by_each_update():
    """The score is written into the Output directly, not captured with `with output: display()`:
    nbclient answers a captured output with a comm_msg mid-cell, which can leave a notebook run
    idle for the whole cell timeout (issue 18). Set directly, it can be read back and replaced."""
    mc = music_controls(make_scale, _controls(), show=("score",))
    (first,) = mc.score.outputs
    assert first["output_type"] == "display_data" and "musegen-score" in first["data"]["text/html"]
    mc.controls["length"].value = 8
    (second,) = mc.score.outputs              # replaced, not appended
    assert second["data"]["text/html"] != first["data"]["text/html"]


def test_sound_player_is_an_audio_element_that_changes_with_the_music():
    mc = music_controls(make_scale, _controls(), show=("sound",))
    first = mc.sound.value
    assert "<audio" in first and "data:audio/wav;base64," in first
    mc.controls[list(mc.controls)[0]].value = mc.controls[list(mc.controls)[0]].value + 1
    assert mc.sound.value != first


def test_piano_roll_is_a_png_image():
    mc = music_controls(make_scale, _controls(), show=("roll",))
    assert mc.roll.value[:8] == b"\x89PNG\r\n\x1a\n"


# ---- misuse: whatever goes wrong is a message in the widget, never a traceback -----------------
def _with_failure(failure):
    """make_piece that works for length != 3 and fails in the given way for length == 3."""
    def make(root, length):
        if length == 3:
            return failure()
        return make_scale(root, length)
    return make


def _raise(exc):
    def fail():
        raise exc
    return fail


@pytest.mark.parametrize("failure, expected", [
    (_raise(RuntimeError("the model is not trained yet")), "RuntimeError: the model is not trained yet"),
    (_raise(ZeroDivisionError("division by zero")), "ZeroDivisionError: division by zero"),
    (_raise(KeyError("no such preset 'pop2'")), "no such preset 'pop2'"),
    (lambda: None, "returned NoneType, not a Piece"),
    (lambda: [60, 62, 64], "returned list, not a Piece"),
], ids=["RuntimeError", "ZeroDivisionError", "KeyError", "None", "list"])
def test_any_failure_in_make_piece_becomes_a_message(failure, expected, capsys):
    mc = music_controls(_with_failure(failure), _controls(), show=("sound", "roll"))
    good = mc.piece
    mc.controls["length"].value = 3  # the observer runs update(): nothing may escape it
    assert expected in mc.error
    assert mc.piece is good
    shown = mc.message.outputs[0]["data"]["text/html"]
    assert expected.replace("'", "&#x27;") in shown or expected in shown
    assert "last good piece is still shown" in shown
    mc.controls["length"].value = 5
    assert mc.error is None and len(mc.piece.notes) == 5


def test_a_piece_too_long_to_play_names_the_limit(capsys):
    from musegen_helpers.audio import MAX_SECONDS

    def make(root, length):
        # whole notes at 20 BPM: 12 s each, so more than 50 notes is over MAX_SECONDS (600 s)
        piece = melody([root + step % 12 for step in range(length * 15)], 4.0)
        piece.tempo = 20
        return piece

    mc = music_controls(make, _controls(), show=("sound",), run=False)
    mc.controls["length"].value = 5  # 75 notes = 900 s
    assert mc.piece is None
    assert "could not be shown" in mc.error and f"{MAX_SECONDS:g}" in mc.error
    mc.controls["length"].value = 1  # 15 notes = 180 s: fine
    assert mc.error is None and len(mc.piece.notes) == 15


def test_a_very_long_message_is_cut(capsys):
    from musegen_helpers.widgets import MAX_MESSAGE_CHARS

    def make(root, length):
        raise ValueError("unknown key '" + "x" * 5000 + "'")

    mc = music_controls(make, _controls(), show=("sound",))
    shown = mc.message.outputs[0]["data"]["text/html"]
    assert MAX_MESSAGE_CHARS < len(shown) < MAX_MESSAGE_CHARS + 200 and "…" in shown


# ---- the GAN's latent-walk slider (lesson 04) --------------------------------------------------
@pytest.fixture(scope="module")
def tiny_generator():
    keras = pytest.importorskip("keras")
    from musegen_helpers.models import gan as G

    keras.utils.set_random_seed(1)
    return G.build_generator(4, 8, 12, filters=4)


def test_latent_walk_widget_shows_a_roll_and_a_player_for_every_stop():
    pytest.importorskip("keras")
    from musegen_helpers.models import gan as G
    from musegen_helpers.widgets import latent_walk_widget

    generator, _ = G.load_pretrained_generator()
    box = latent_walk_widget(generator, seed_start=1, seed_end=2, positions=5)
    slider, picture, player, message = box.children
    seen = set()
    for k in range(5):
        slider.value = k
        assert picture.value[:8] == b"\x89PNG\r\n\x1a\n"
        assert "<audio" in player.value and message.outputs == ()
        seen.add(player.value)
    assert len(seen) >= 3  # walking the noise space changes the music, not only the picture


@pytest.mark.parametrize("kwargs, words", [
    ({"positions": 1}, "whole number from 2 to 64"),
    ({"positions": 10_000}, "whole number from 2 to 64"),
    ({"positions": 4.5}, "whole number from 2 to 64"),
    ({"seed_start": -1}, "seed must be a whole number"),
    ({"seed_end": 2 ** 40}, "seed must be a whole number"),
    ({"seed_end": "two"}, "seed must be a whole number"),
    ({"threshold": 0.0}, "between 0 and 1"),
    ({"threshold": 1.5}, "between 0 and 1"),
    ({"tempo": 0}, "20–300"),
    ({"lowest_pitch": 120}, "lowest_pitch must be"),  # 12 rows from 120 would pass MIDI 127
    ({"lowest_pitch": "C2"}, "lowest_pitch must be"),
], ids=lambda v: str(v))
def test_latent_walk_widget_refuses_bad_arguments_with_what_to_use(tiny_generator, kwargs, words):
    from musegen_helpers.widgets import latent_walk_widget

    with pytest.raises(ValueError, match=words):
        latent_walk_widget(tiny_generator, **kwargs)


def test_latent_walk_widget_wants_a_model():
    pytest.importorskip("keras")
    from musegen_helpers.widgets import latent_walk_widget

    with pytest.raises(ValueError, match="Keras model"):
        latent_walk_widget("gan_generator.keras")
