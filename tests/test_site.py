"""The course site (musegen_helpers.site): every picture on a page has a description (alt text)."""

from pathlib import Path

import nbformat
import pytest
from bs4 import BeautifulSoup

from musegen_helpers import site

ROOT = Path(__file__).resolve().parents[1]


def test_figure_alt_text_reads_titles_and_axis_labels():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from musegen_helpers.music import melody
    from musegen_helpers.plots import plot_piano_roll

    fig, _ = plot_piano_roll(melody([60, 64, 67], 1.0), title="arpeggio")
    assert site.figure_alt_text(fig) == "Piano roll: pitch against time (quarter notes) — arpeggio"
    fig, axes = plt.subplots(1, 3)
    for ax in axes:
        ax.bar([1, 2], [3, 4])
        ax.set_xlabel("pitch class")
        ax.set_ylabel("notes")
        ax.set_title("real")
    fig.suptitle("pitch classes")
    assert site.figure_alt_text(fig) == "pitch classes. 3 panels: Bar chart: notes against pitch class — real"
    bare, ax = plt.subplots()
    ax.plot([1, 2])
    assert site.figure_alt_text(bare) == "Line plot"
    assert len(site.figure_alt_text(fig, max_chars=20)) == 20
    plt.close("all")


def test_images_without_alt_finds_missing_empty_and_placeholder_alt():
    page = ('<img src="data:a" alt="Piano roll"><img src="data:b"><img src="data:c" alt=" ">'
            f'<img src="data:d" alt="{site._PLACEHOLDER_ALT}">')
    assert site.images_without_alt(page) == ["data:b", "data:c", "data:d"]


def _tiny_course(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Pictures\n\nYou will:\n- see a roll\n\n**Time:** about 1 minute"),
        nbformat.v4.new_code_cell("import matplotlib.pyplot as plt\nfrom musegen_helpers.music import melody\n"
                                  "from musegen_helpers.plots import plot_piano_roll\n"
                                  "from musegen_helpers.score import show_score\n"
                                  "tune = melody([60, 64, 67], 1.0, title='arpeggio')"),
        nbformat.v4.new_code_cell("plot_piano_roll(tune, title='shown by the inline backend');"),
        nbformat.v4.new_code_cell("fig, ax = plot_piano_roll(tune, title='display(fig)')\ndisplay(fig)\n"
                                  "plt.close(fig)"),
        nbformat.v4.new_code_cell("fig, ax = plt.subplots()\nax.plot([1, 2])\nplt.close(fig)\nfig"),
        nbformat.v4.new_code_cell("show_score(tune)"),
    ]
    (tmp_path / "solutions").mkdir()
    nbformat.write(nb, str(tmp_path / "solutions" / "00_pictures.ipynb"))
    return tmp_path


def test_every_picture_of_a_built_page_has_a_description(tmp_path, capsys):
    root = _tiny_course(tmp_path)
    page, _index = site.build_site(out=tmp_path / "site", root=root, timeout=120)
    text = page.read_text(encoding="utf-8")
    soup = BeautifulSoup(text, features="html.parser")
    alts = [img.get("alt") for img in soup.find_all("img")]
    assert alts == ["Piano roll: pitch against time (quarter notes) — shown by the inline backend",
                    "Piano roll: pitch against time (quarter notes) — display(fig)",
                    "Line plot"]
    assert site.images_without_alt(text) == []
    score = soup.select_one("div.musegen-score")
    assert score["role"] == "img" and score["aria-label"] == "Score: arpeggio, 1 bar in 4/4"
    assert "install_alt_text" not in text  # the kernel preamble is not shown on the page
    counts = [c.execution_count for c in nbformat.read(str(root / "solutions" / "00_pictures.ipynb"), 4).cells
              if c.cell_type == "code"]
    assert counts == [None] * 5  # the source notebook is not touched
    prompts = [p.get_text().split() for p in soup.select(".jp-InputPrompt")]
    assert [p[-1] for p in prompts if len(p) > 1] == ["[1]:", "[2]:", "[3]:", "[4]:", "[5]:"]  # the lesson's own
    assert "no description" not in capsys.readouterr().out


@pytest.mark.skipif(not (ROOT / "solutions" / "00_welcome.ipynb").exists(), reason="no lesson 00")
def test_lesson_00_page_has_alt_text_on_every_image(tmp_path):
    page, _index = site.build_site(out=tmp_path / "site", only=["00"], timeout=300)
    text = page.read_text(encoding="utf-8")
    images = BeautifulSoup(text, features="html.parser").find_all("img")
    assert len(images) >= 2  # the lesson does show pictures (two piano rolls)
    assert site.images_without_alt(text) == []
    assert any(img["alt"].startswith("Piano roll: pitch against time") for img in images)


def test_score_alt_text_names_title_bars_meter_and_parts():
    from musegen_helpers.music import Note, Piece, melody
    from musegen_helpers.score import score_alt_text, show_score

    changing = Piece([Note(60, 0, 3, part="Soprano"), Note(48, 0, 3, part="Bass"), Note(60, 3, 4, part="Soprano")],
                     time_signature=(3, 4), time_signature_changes=[(3, (4, 4))], title="Ach Gott")
    assert score_alt_text(changing) == "Score: Ach Gott, 2 bars in 3/4 then 4/4, for Soprano, Bass"
    pickup = Piece([Note(67, 0, 1), Note(72, 1, 4), Note(74, 5, 4)], title="Upbeat", pickup=1)
    assert score_alt_text(pickup) == "Score: Upbeat, 2 bars after a pickup in 4/4"
    html = show_score(melody([60, 62], 1.0))._repr_html_()
    assert 'role="img" aria-label="Score: untitled, 1 bar in 4/4"' in html


def test_page_keeps_the_size_a_formatter_gives_next_to_the_alt_text():
    nb = nbformat.v4.new_notebook()
    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg=="
    out = nbformat.v4.new_output("display_data", data={"image/png": png, "text/plain": "<Figure>"},
                                 metadata={"image/png": {"alt": "Line plot", "width": 618, "height": 259}})
    nb.cells = [nbformat.v4.new_code_cell("fig", outputs=[out])]
    img = BeautifulSoup(site._page(nb), features="html.parser").find("img")
    assert (img["alt"], img["width"], img["height"]) == ("Line plot", "618", "259")
