"""The MLflow UI in a real browser: a tracked run, its per-epoch metric charts and its PNG charts, seen as a user
sees them.

One ``sparktag server`` on SQLite, one 3-epoch experiment logged to it, and one headless Chromium (Debian's
/usr/bin/chromium, driven by Playwright) per module. Each test keeps a screenshot in $SPARKTAG_TEST_ARTIFACTS
(default: test-artifacts/ at the repository root) for a person to look at; a failing test keeps one too and
names it in the failure message.

Needs ``apt-get install -y chromium`` and the ``playwright`` test extra; never ``playwright install``, which
downloads a browser build of its own and cannot work offline.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from sparktag.tracking.experiment import run_experiment
from sparktag.tracking.experiment_config import ExperimentConfig

from chromium import CHROMIUM, CHROMIUM_ARGS, artifacts_folder
from servers import TrackingServer, unavailable

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # the test extra is missing: the browser fixture skips (fails in CI) with the reason
    expect = sync_playwright = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient
    from playwright.sync_api import BrowserContext, Locator, Page

pytestmark = [pytest.mark.spark, pytest.mark.slow]

# Generous: the machine is shared with heavy jobs, and the UI's first render fetches a few MB of JavaScript.
TIMEOUT_MS = 60_000
VIEWPORT = {"width": 1400, "height": 1000}
RUN_NAME = "tiny_ner_ui"  # run_experiment names the run after the model it registers
EPOCHS = 3
# On a server at 127.0.0.1 MLflow's assistant panel opens by itself on the first visit and hides a third of every
# screenshot; this is the localStorage flag the UI sets once it has done that (its useLocalStorage key + "_v1").
# Should MLflow rename it, the panel shows again and nothing else changes.
SKIP_ASSISTANT = (
    "try { localStorage.setItem('mlflow.assistant.fab.autoOpenedOnFirstLoad_v1', 'true') } catch (e) {}"
)


# The bytes behind a preview <img> and what the browser decoded from them. crypto.subtle needs a secure
# context, which http://127.0.0.1 is.
SHOWN_IMAGE = """async img => {
    const bytes = await (await fetch(img.src)).arrayBuffer();
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
    return {src: img.src, width: img.naturalWidth, height: img.naturalHeight,
            sha256: Array.from(digest, b => b.toString(16).padStart(2, "0")).join("")};
}"""


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) of a PNG file whose every chunk decodes; fails on anything else."""
    from PIL import Image

    with Image.open(path) as image:
        assert image.format == "PNG", f"{path}: {image.format}, not a PNG"
        image.load()  # decodes the pixels: a truncated or corrupt file fails here, not just a bad header
        return image.size


@dataclass
class Tracked:
    """The server and what the experiment logged to it."""

    server: TrackingServer
    experiment_id: str
    run_id: str
    model_version: str

    def client(self) -> MlflowClient:
        from mlflow.tracking import MlflowClient

        return MlflowClient(self.server.url)


class UI:
    """One browser page on the tracking server's UI; screenshots go to ``shots``."""

    def __init__(self, page: Page, server: TrackingServer, shots: Path) -> None:
        self.page = page
        self.server = server
        self.shots = shots
        self.page_errors: list[str] = []  # uncaught JavaScript errors: the first clue when a view stays empty
        page.on("pageerror", lambda err: self.page_errors.append(str(err)))

    def open(self, route: str) -> None:
        """Open a route of the single-page app, e.g. ``/experiments/1/runs``."""
        self.page.goto(f"{self.server.url}/#{route}")

    def screenshot(self, name: str) -> Path:
        """The visible page as ``ui_<name>.png``, checked to be a whole PNG of the viewport that is not blank."""
        from PIL import Image

        path = self.shots / f"ui_{name}.png"
        self.page.screenshot(path=str(path))
        assert png_size(path) == (VIEWPORT["width"], VIEWPORT["height"]), path
        with Image.open(path) as image:
            darkest, lightest = image.convert("L").getextrema()
        assert darkest < lightest, f"{path} is one flat colour: the page did not render"
        return path

    @contextlib.contextmanager
    def screenshot_on_failure(self, name: str) -> Iterator[None]:
        """Re-raise a failure in the block with a screenshot of that moment, the URL and the page's errors."""
        try:
            yield
        except Exception as err:  # a timed-out wait and a failed assert alike: both need the picture
            path = self.shots / f"ui_{name}_FAILED.png"
            with contextlib.suppress(Exception):
                self.page.screenshot(path=str(path), full_page=True)
            raise AssertionError(
                f"{err}\n\nscreenshot: {path}\nurl: {self.page.url}\n"
                f"uncaught page errors: {self.page_errors or 'none'}\nserver log: {self.server.log}"
            ) from err


@pytest.fixture(scope="module")
def shots() -> Path:
    """The screenshot folder, without the screenshots of an earlier run (a stale _FAILED.png would mislead)."""
    folder = artifacts_folder()
    for old in folder.glob("ui_*.png"):
        old.unlink()
    return folder


@pytest.fixture(scope="module", autouse=True)
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    """Headless Chromium with a fresh profile. Autouse, so a missing browser skips before the slow training."""
    if sync_playwright is None:
        unavailable("playwright is not installed (pip install -e '.[test]')")
    if not CHROMIUM.is_file():
        unavailable(f"no {CHROMIUM} (apt-get install -y chromium)")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=str(CHROMIUM), headless=True,
            args=CHROMIUM_ARGS, viewport=VIEWPORT,
        )  # fmt: skip
        context.set_default_timeout(TIMEOUT_MS)
        context.add_init_script(SKIP_ASSISTANT)
        try:
            yield context
        finally:
            context.close()


@pytest.fixture(scope="module")
def tracked(
    spark, sample_dir: Path, sample_bert_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Tracked]:
    """A ``sparktag server`` on SQLite holding one 3-epoch experiment with a registered model."""
    tmp = tmp_path_factory.mktemp("ui")
    server = TrackingServer(f"sqlite:///{tmp}/mlflow.db", tmp)
    try:
        config = ExperimentConfig(
            train_path=str(sample_dir / "train.conll"), test_path=str(sample_dir / "test.conll"),
            embeddings=str(sample_bert_dir), max_epochs=EPOCHS, lr=0.01, batch_size=16, validation_split=0.2,
            random_seed=1, experiment_name="ui-test", model_name=RUN_NAME, tracking_uri=server.url,
            output_dir=str(tmp / "out"), params={"lstmHidden": 32},
        )  # fmt: skip
        result = run_experiment(config, spark=spark, echo=None)
        assert result.tracking_error is None, result.tracking_error
        assert result.run_id and result.experiment_id and result.model_version, result
        yield Tracked(server, result.experiment_id, result.run_id, result.model_version)
    finally:
        server.close()


@pytest.fixture
def ui(browser: BrowserContext, tracked: Tracked, shots: Path) -> Iterator[UI]:
    """A new page per test, so no search box or selection carries over from the test before."""
    page = browser.new_page()
    try:
        yield UI(page, tracked.server, shots)
    finally:
        page.close()


def row(page: Page, first_cell: str) -> Locator:
    """The table row whose first cell reads exactly ``first_cell`` (``lstmHidden``, not ``charLstmHidden``)."""
    return page.get_by_role("row").filter(has=page.get_by_role("cell", name=first_cell, exact=True))


def test_experiment_page_lists_the_run(ui: UI, tracked: Tracked) -> None:
    page = ui.page
    with ui.screenshot_on_failure("experiment"):
        ui.open(f"/experiments/{tracked.experiment_id}/runs")
        # the run's name links to this very run, and its registered model version shows beside it
        link = page.locator(f'a[href="#/experiments/{tracked.experiment_id}/runs/{tracked.run_id}"]')
        expect(link).to_have_text(RUN_NAME, timeout=TIMEOUT_MS)
        model = page.locator(f'a[href="#/models/{RUN_NAME}/versions/{tracked.model_version}"]')
        expect(model).to_be_visible(timeout=TIMEOUT_MS)
        expect(page.get_by_text("1 matching run")).to_be_visible(timeout=TIMEOUT_MS)
        ui.screenshot("experiment")


def test_run_page_shows_params_and_metrics(ui: UI, tracked: Tracked) -> None:
    page = ui.page
    run = tracked.client().get_run(tracked.run_id)
    with ui.screenshot_on_failure("run"):
        ui.open(f"/experiments/{tracked.experiment_id}/runs/{tracked.run_id}")
        expect(page.get_by_role("heading", name=RUN_NAME, exact=True)).to_be_visible(timeout=TIMEOUT_MS)
        # the tables list 70-odd metrics and 50-odd params: search, as a user would, for the ones to check
        for metric in ("loss", "final_entity_micro_f1", "validation_entity_micro_f1"):
            page.get_by_placeholder("Search metrics").fill(metric)
            value = row(page, metric).get_by_role("cell").nth(1)
            expect(value).to_have_text(re.compile(r"\d"), timeout=TIMEOUT_MS)
            assert float(value.inner_text()) == pytest.approx(run.data.metrics[metric]), metric
        for param, shown in (("maxEpochs", str(EPOCHS)), ("lstmHidden", "32")):
            page.get_by_placeholder("Search parameters").fill(param)
            expect(row(page, param).get_by_role("cell").nth(1)).to_have_text(shown, timeout=TIMEOUT_MS)
            assert run.data.params[param] == shown
        ui.screenshot("run")


@pytest.mark.parametrize("metric", ["loss", "validation_entity_micro_f1"])
def test_metric_chart_plots_every_epoch(ui: UI, tracked: Tracked, metric: str) -> None:
    page = ui.page
    history = tracked.client().get_metric_history(tracked.run_id, metric)
    assert [m.step for m in history] == list(range(1, EPOCHS + 1)), "run_experiment logs one point per epoch"
    with ui.screenshot_on_failure(f"metric_{metric}"):
        ui.open(f"/experiments/{tracked.experiment_id}/runs/{tracked.run_id}/model-metrics")
        page.get_by_placeholder("Search metric charts").fill(metric)
        card = page.get_by_test_id("experiment-view-compare-runs-card").filter(
            has=page.get_by_text(metric, exact=True)
        )
        plot = card.locator(".js-plotly-plot")
        # Plotly draws a line series as path.js-line ("M x,y L x,y ..."): wait for one with at least two
        # points, then read the series off the graph div, where Plotly keeps what it plotted (gd.data).
        line = plot.locator(".scatterlayer path.js-line").first
        expect(line).to_have_attribute("d", re.compile(r"^M.+L"), timeout=TIMEOUT_MS)
        series: list[dict[str, Any]] = plot.evaluate(
            "gd => gd.data.map(t => ({name: t.name, x: Array.from(t.x), y: Array.from(t.y)}))"
        )
        assert series, f"no series on the {metric} chart"
        assert series[0]["name"] == RUN_NAME
        assert series[0]["x"] == [m.step for m in history]
        assert series[0]["y"] == pytest.approx([m.value for m in history])
        ui.screenshot(f"metric_{metric}")


def test_artifacts_view_shows_chart_pngs(ui: UI, tracked: Tracked, tmp_path: Path) -> None:
    page = ui.page
    client = tracked.client()
    pngs = sorted(
        Path(a.path).name for a in client.list_artifacts(tracked.run_id, "charts") if a.path.endswith(".png")
    )
    assert "loss.png" in pngs and "confusion_matrix.png" in pngs, pngs
    pngs.sort(key=lambda name: name == "loss.png")  # preview loss.png last: the screenshot shows it

    def node(name: str) -> Locator:
        # exact: "macro_micro_validation.png" is also the tail of "entity_macro_micro_validation.png"
        return page.get_by_test_id("artifact-tree-node").filter(
            has_text=re.compile(rf"^\s*{re.escape(name)}\s*$")
        )

    with ui.screenshot_on_failure("artifacts"):
        ui.open(f"/experiments/{tracked.experiment_id}/runs/{tracked.run_id}/artifacts")
        node("charts").click()
        for name in pngs:
            expect(node(name)).to_be_visible(timeout=TIMEOUT_MS)
        shown_src = ""
        for name in pngs:
            logged = Path(client.download_artifacts(tracked.run_id, f"charts/{name}", str(tmp_path)))
            node(name).click()
            # The preview is an <img alt="charts/<name>"> showing a blob the UI fetched from the server. The UI
            # renames the <img> before it swaps the picture, so wait for a new blob, decoded (naturalWidth > 0).
            selector = f'img[alt="charts/{name}"]'
            page.wait_for_function(
                "([sel, old]) => { const img = document.querySelector(sel);"
                " return img && img.src !== old && img.complete && img.naturalWidth > 0 }",
                arg=[selector, shown_src], timeout=TIMEOUT_MS,
            )  # fmt: skip
            shown = page.locator(selector).evaluate(SHOWN_IMAGE)
            shown_src = shown["src"]
            assert shown["sha256"] == hashlib.sha256(logged.read_bytes()).hexdigest(), (
                f"charts/{name}: the UI shows other bytes than the run's artifact"
            )
            assert (shown["width"], shown["height"]) == png_size(logged), name
        ui.screenshot("artifacts")


def test_artifacts_view_opens_the_error_analysis(ui: UI, tracked: Tracked, tmp_path: Path) -> None:
    """error_analysis.html in the artifact viewer (a sandboxed iframe): the run's counts, and a filter that works."""
    from sparktag.ner.error_categories import ALL_TYPES, CATEGORIES, categorize_entities, count_categories
    from sparktag.tracking.error_analysis import analyze_errors, read_tagged_sentences

    page = ui.page
    client = tracked.client()
    logged = client.download_artifacts(tracked.run_id, "tagged_test_sentences.json", str(tmp_path))
    sentences = read_tagged_sentences(logged)
    counts = count_categories(categorize_entities([s.gold for s in sentences], [s.pred for s in sentences]))
    analysis = analyze_errors(sentences)
    # the filter to click: the error category in the fewest sentences, so that the shown rows change
    in_sentences = {
        c: sum(any(o.category == c for o in analysis.outcomes[i]) for i in analysis.error_sentences)
        for c in CATEGORIES
        if c != "correct"
    }
    category = min((c for c, n in in_sentences.items() if n), key=lambda c: in_sentences[c])
    assert 0 < in_sentences[category] < len(analysis.error_sentences), in_sentences
    with ui.screenshot_on_failure("error_analysis"):
        ui.open(f"/experiments/{tracked.experiment_id}/runs/{tracked.run_id}/artifacts")
        page.get_by_test_id("artifact-tree-node").filter(
            has_text=re.compile(r"^\s*error_analysis\.html\s*$")
        ).click()
        frame = page.frame_locator("iframe.mlflow-html-iframe")
        for name in CATEGORIES:
            cell = frame.locator(f'#categories td[data-type="{ALL_TYPES}"][data-category="{name}"]')
            expect(cell).to_have_text(str(counts[ALL_TYPES][name]), timeout=TIMEOUT_MS)
        shown = frame.locator("#shown-count")
        expect(shown).to_have_text(str(len(analysis.error_sentences)))
        rows = frame.locator("#errors tbody tr:not([hidden])")
        expect(rows).to_have_count(len(analysis.error_sentences))
        frame.locator(f'#category-filter button[data-cat="{category}"]').click()
        expect(shown).to_have_text(str(in_sentences[category]))
        expect(rows).to_have_count(in_sentences[category])
        frame.locator("#errors").scroll_into_view_if_needed()
        ui.screenshot("error_analysis")
