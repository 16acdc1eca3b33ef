"""Key flows and bad inputs in a real browser (Debian's chromium through playwright), against the real app. Every
bad input is followed by a normal action that must succeed. Screenshots are kept in test-artifacts/ for people to
look at."""

import dataclasses
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import MODEL_THRESHOLDS, REPO, free_port

pytestmark = pytest.mark.browser
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
INSULT = "you are a stupid worthless idiot"
VERDICT = re.compile(r"^(Over threshold|Under every threshold)")


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail("chromium is missing: apt-get install -y chromium (./tasks.sh test installs it)")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield browser
        browser.close()


def open_page(browser, url: str):
    page = browser.new_page(viewport={"width": 1280, "height": 1100})
    page.set_default_timeout(120_000)
    page.goto(url)
    return page


@pytest.fixture
def page(browser, app_server):
    """A fresh page on the shared app: no state carried from the test before."""
    page = open_page(browser, app_server.url)
    yield page
    page.close()


# --- helpers: one normal action each, and a way to see an error ---------------------------------------------------


def classify(page, text: str) -> str:
    """Type and classify ``text``; the verdict line that follows."""
    page.get_by_role("tab", name="Classify").click()
    page.get_by_label("Comment", exact=True).fill(text)
    page.get_by_role("button", name="Classify", exact=True).click()
    verdict = page.locator("p", has_text=VERDICT).first
    verdict.wait_for()
    return verdict.inner_text()


def classify_works(page) -> None:
    assert "Over threshold: toxic" in classify(page, INSULT)
    page.locator(".toxic-explanation").get_by_text("idiot", exact=True).wait_for()


def write_csv(tmp_path, name: str = "comments.csv") -> Path:
    src = tmp_path / name
    pd.DataFrame({"id": [11, 12, 13], "comment": [INSULT, "lovely day for a walk", "thanks!"]}).to_csv(
        src, index=False
    )
    return src


def upload(page, path: Path) -> None:
    """Upload ``path`` as a user does: the last file removed first (its × button)."""
    page.get_by_role("tab", name="Batch CSV").click()
    remove = page.get_by_role("button", name="Clear")
    if remove.count() and remove.first.is_visible():
        remove.first.click()
    # through the file chooser the empty box opens, as a user picks a file (setting the hidden input directly
    # raced with the box re-rendering after Clear, and the file was sometimes lost)
    with page.expect_file_chooser() as chooser:
        page.get_by_text("Click to Upload").first.click()
    chooser.value.set_files(str(path))
    # it shows in the box (name stem and extension in two spans) before a user scores it
    page.locator("td.filename .stem").get_by_text(path.stem, exact=True).wait_for()


def scoring_works(page, tmp_path) -> None:
    upload(page, write_csv(tmp_path))
    page.get_by_role("button", name="Score file").click()
    page.get_by_text("Scored 3 rows").wait_for()


def expect_error(page, message: str) -> None:
    """An error toast with ``message`` appears; then every toast is closed."""
    page.locator(".toast-body", has_text=message).first.wait_for()
    for close in page.locator(".toast-close").all():
        if close.is_visible():
            close.click()


# --- the Classify tab ---------------------------------------------------------------------------------------------


def test_classify_flow(page):
    verdict = classify(page, INSULT)
    assert verdict.startswith("Over threshold: toxic") and f"≥ {MODEL_THRESHOLDS['toxic']:.2f}" in verdict
    words = page.locator(".toxic-explanation .toxic-word")
    idiot = words.filter(has_text="idiot").first
    assert idiot.get_attribute("title").endswith("log-odds")  # the figure on hover
    assert "Strongest words for toxic" in page.locator(".toxic-explanation").inner_text()
    page.screenshot(path=str(ARTIFACTS / "classify.png"), full_page=True)


def test_an_obfuscated_comment_shows_what_the_model_read(page):
    classify(page, "you are a stupid worthless 1d10t")
    read_as = page.locator("p", has_text="Read as:")
    read_as.wait_for()
    assert "you are a stupid worthless idiot" in read_as.inner_text()
    page.screenshot(path=str(ARTIFACTS / "classify_obfuscated.png"), full_page=True)


def test_empty_and_blank_comments(page):
    for text in ("", "   \n  "):
        assert classify(page, INSULT)  # something on screen first
        page.get_by_label("Comment", exact=True).fill(text)
        page.get_by_role("button", name="Classify", exact=True).click()
        page.get_by_text("Nothing to classify").wait_for()
        assert page.locator(".toxic-explanation").count() == 0  # the last text's explanation is gone
    classify_works(page)


def test_a_comment_over_the_length_limit(page, app_server):
    classify_works(page)
    limit = app_server.service.settings.max_text_chars
    page.get_by_label("Comment", exact=True).fill("y" * (limit + 1))
    page.get_by_role("button", name="Classify", exact=True).click()
    expect_error(page, "the limit is")
    assert page.locator(".toxic-explanation").count() == 0  # nothing stale under the error
    assert page.locator("p", has_text="Over threshold").count() == 0
    classify_works(page)


def test_markup_in_a_comment_is_shown_as_text(page):
    classify(page, 'you idiot <img src=x onerror="document.title=1"><b>bold</b>')
    page.locator(".toxic-word", has_text="<b>bold</b>").wait_for()
    assert page.locator(".toxic-explanation img, .toxic-explanation b:has-text('bold')").count() == 0
    assert page.title() != "1"
    classify_works(page)


def test_thresholds_apply_at_once_and_are_clamped_visibly(page):
    assert "Over threshold: toxic" in classify(page, INSULT)
    box = page.locator("input[type=number]").first  # the toxic threshold's number box
    box.fill("0.99")
    box.press("Enter")
    verdict = page.locator("p", has_text=VERDICT).first
    for _ in range(100):  # no new click on Classify: the verdict follows the slider
        if "toxic (" not in verdict.inner_text():
            break
        page.wait_for_timeout(100)
    assert "toxic (" not in verdict.inner_text()
    box.fill("-1")
    box.press("Enter")
    page.locator("p", has_text="≥ 0.01").wait_for()
    assert (
        box.input_value() == "0.01"
        and page.get_by_role("slider", name="toxic threshold").input_value() == "0.01"
    )
    page.screenshot(path=str(ARTIFACTS / "thresholds.png"), full_page=True)
    assert "≥ 0.01" in classify(page, INSULT)  # classified again at the clamped threshold


def test_every_label_can_be_explained(page):
    classify(page, "I hate all of them, they should go back")
    page.get_by_role("radio", name="hate").check()
    page.locator(".toxic-explanation", has_text="Strongest words for hate").wait_for()
    page.screenshot(path=str(ARTIFACTS / "explain_hate.png"), full_page=True)
    page.get_by_role("radio", name="toxic").check()
    page.locator(".toxic-explanation", has_text="Strongest words for toxic").wait_for()
    classify_works(page)


def test_reporting_a_mistake(page, app_server):
    page.get_by_role("tab", name="Classify").click()
    page.get_by_text("Wrong? Report a mistake").click()
    page.get_by_role("button", name="Report this mistake").click()  # nothing classified yet
    expect_error(page, "classify a text first")
    classify(page, "what a fucking great game lol")
    page.get_by_role("button", name="Report this mistake").click()  # no answer chosen
    expect_error(page, "choose the right answer first")
    page.get_by_role("radio", name="not toxic").check()
    page.get_by_label("Comment", exact=True).fill("what a great game")  # edited after classifying
    page.get_by_role("button", name="Report this mistake").click()
    expect_error(page, "changed after it was classified")
    classify(page, "what a great game")
    page.get_by_role("button", name="Report this mistake").click()
    page.get_by_text("Thanks: saved").wait_for()
    text, scores = last_correction(app_server.service.settings.flag_dir)
    assert text == "what a great game"
    assert scores["toxic"] < 0.4  # the scores of the text reported, not of the one before the edit


def last_correction(folder: Path) -> tuple[str, dict]:
    """The text and model scores of the last correction saved: from the corrections store (one JSON object a
    line) or the CSV the app wrote before it."""
    store = folder / "corrections.jsonl"
    if store.exists():
        record = json.loads(store.read_text().splitlines()[-1])
        return record["text"], record["scores"]
    row = pd.read_csv(folder / "corrections.csv", keep_default_na=False).iloc[-1]
    return row["text"], {"toxic": row["toxic"], "hate": row["hate"]}


def test_example_click_shows_cached_result(page, app_server):
    page.get_by_role("tab", name="Classify").click()
    page.get_by_role("slider", name="toxic threshold").fill("0.9")  # the example puts it back to the model's
    first = page.locator(".gallery-item, button.gallery-item, table.gallery tr td").first
    example_text = first.inner_text().strip()
    first.click()
    box = page.get_by_label("Comment", exact=True)
    slider = page.get_by_role("slider", name="toxic threshold")
    # cached at first use: the first click fills the box, then runs the model; its outputs (scores, words and the
    # model's thresholds) arrive after. Wait on the slider, which only the example's outputs move.
    for _ in range(150):
        if box.input_value().strip() == example_text and slider.input_value() != "0.9":
            break
        page.wait_for_timeout(100)
    assert box.input_value().strip() == example_text
    assert float(slider.input_value()) == MODEL_THRESHOLDS["toxic"]
    page.locator("p", has_text=VERDICT).first.wait_for()
    page.screenshot(path=str(ARTIFACTS / "example.png"), full_page=True)
    # cached at first use, in a folder named for the model and the examples (<key>/<component id>/log.csv)
    logs = list(app_server.examples_cache.glob("*/*/log.csv"))
    assert len(logs) == 1 and len(logs[0].parent.parent.name) == 16, logs
    cached = pd.read_csv(logs[0])
    assert len(cached) >= 1 and cached.iloc[:, 0].str.contains('"toxic"').all()


# --- the Batch CSV tab --------------------------------------------------------------------------------------------


def test_batch_csv_flow(page, tmp_path):
    upload(page, write_csv(tmp_path))
    page.get_by_role("button", name="Score file").click()
    page.get_by_text("Scored 3 rows").wait_for()
    assert "Over threshold: toxic: 1 (33.3%)" in page.locator("p", has_text="Scored 3 rows").inner_text()
    preview = page.locator("table").last
    assert [h.strip() for h in preview.locator("thead th").all_inner_texts()][:3] == ["row", "id", "comment"]
    page.get_by_text("toxic score histogram").wait_for()
    page.get_by_text("hate score histogram").wait_for()
    with page.expect_download() as info:
        page.locator("a[download]").last.click()  # the output file; the uploaded one comes first
    assert info.value.suggested_filename.endswith(".scored.csv"), info.value.suggested_filename
    out = tmp_path / "scored.csv"
    info.value.save_as(out)
    scored = pd.read_csv(out)
    assert scored["toxic_label"].tolist() == [1, 0, 0] and list(scored.columns[:2]) == ["id", "comment"]
    page.screenshot(path=str(ARTIFACTS / "batch_csv.png"), full_page=True)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("binary.csv", bytes(range(256)) * 16, "binary file"),
        ("empty.csv", b"", "empty (0 bytes)"),
        ("header.csv", b"id,text\n", "no rows"),
    ],
    ids=["binary", "empty", "header-only"],
)
def test_a_failed_file_after_a_good_one_leaves_nothing_stale(page, tmp_path, name, content, message):
    scoring_works(page, tmp_path)
    bad = tmp_path / name
    bad.write_bytes(content)
    upload(page, bad)
    page.get_by_role("button", name="Score file").click()
    expect_error(page, message)
    assert page.get_by_text("Scored 3 rows").count() == 0  # the good file's results are gone
    assert page.locator("a[download]", has_text="scored").count() == 0
    page.screenshot(path=str(ARTIFACTS / f"batch_failed_{name}.png"), full_page=True)
    scoring_works(page, tmp_path)


def test_an_unknown_column_typed_in(page, tmp_path):
    upload(page, write_csv(tmp_path))
    column = page.get_by_label("Text column")
    for _ in range(100):  # the detected column arrives after the upload
        if column.input_value() == "comment":
            break
        page.wait_for_timeout(100)
    column.click()
    column.fill("nope")
    column.press("Enter")
    page.get_by_text("Upload a CSV or TSV").click()  # away from the list of columns, which closes
    page.get_by_role("button", name="Score file").click()
    expect_error(page, "no column 'nope'")
    scoring_works(page, tmp_path)


# --- the Model and Drift tabs, the API page -----------------------------------------------------------------------


def test_model_tab(page):
    page.get_by_role("tab", name="Model").click()
    page.get_by_text("Validation metrics").wait_for()
    page.get_by_text("Limitations and ethical considerations").wait_for()
    page.get_by_text("undoes look-alike spellings before scoring").wait_for()
    page.get_by_text("at the shipped thresholds").wait_for()
    page.screenshot(path=str(ARTIFACTS / "model.png"), full_page=True)


@pytest.fixture(scope="module")
def young_app(app_server, tmp_path_factory):
    """The app over a prediction log that holds too few predictions for a drift report."""
    import app
    from toxic.serve.server import BackgroundServer, build_app
    from toxic.serve.service import Service, open_log_or_warn

    state = tmp_path_factory.mktemp("young")
    settings = dataclasses.replace(
        app_server.service.settings, log=str(state / "predictions.sqlite"), flag_dir=state / "flagged"
    )
    service = Service(settings, classifier=app_server.service.clf, log=open_log_or_warn(settings))
    server = BackgroundServer(build_app(app.build(service), service), "127.0.0.1", free_port()).start(120)
    server.service = service
    yield server
    server.stop()


def test_drift_tab_before_enough_predictions_are_logged(browser, young_app):
    from toxic.monitor.drift import MIN_ROWS

    page = open_page(browser, young_app.url)
    page.get_by_role("tab", name="Drift").click()
    page.get_by_role("button", name="Compute drift").click()
    page.get_by_text(f"No predictions are logged yet: a report needs {MIN_ROWS}").wait_for()
    young_app.service.score(["hello"] * 12, "test")
    window = page.get_by_label("Last N predictions")
    window.fill("")  # a cleared box: the default window, shown
    page.get_by_role("button", name="Compute drift").click()
    page.get_by_text(f"12 of the {MIN_ROWS} predictions a report needs are logged").wait_for()
    assert window.input_value() == "2000" and page.get_by_text("Error").count() == 0
    page.screenshot(path=str(ARTIFACTS / "drift_waiting.png"), full_page=True)
    young_app.service.score([INSULT, "have a lovely day"] * 20, "test")
    window.fill("5")  # under the least window: clamped to it, shown
    page.get_by_role("button", name="Compute drift").click()
    page.get_by_text("dataset drift").wait_for()
    assert window.input_value() == str(MIN_ROWS)
    page.screenshot(path=str(ARTIFACTS / "drift.png"), full_page=True)
    page.close()


def test_api_page(page):
    page.get_by_text("Use via API").click()
    page.get_by_text("API name: /classify").first.wait_for()
    text = page.locator("body").inner_text()
    assert "handle_file('comments.csv')" in text and ".pdf" not in text
    assert "value_" not in text and "p50" not in text
    page.screenshot(path=str(ARTIFACTS / "api.png"), full_page=True)
