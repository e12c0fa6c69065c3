"""report.html of real runs: its sections, its numbers against metrics.json, escaping, self-containment,
the test predictions (confusion matrix, R² and the predict-the-mean baseline), and the page in a real
headless browser when one is installed."""

from __future__ import annotations

import base64
import json
import os
import shutil
import struct
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from adaptkit import load_spec_file
from adaptkit._diagnostics import confusion_matrix, mean_predictor, r_squared
from adaptkit._runner import run_pipeline

RUN_SECTIONS = ("verdict", "metrics", "data", "curves", "predictions", "spec")


class Page(HTMLParser):
    """The parts of a page the tests look at: tags, sections, cells with data-* attributes, images, links."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.sections: list[str] = []
        self.cells: list[tuple[dict, str]] = []
        self.images: list[str] = []
        self.links: list[str] = []
        self.text: list[str] = []
        self._cell: dict | None = None
        self._cell_text = ""
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        if tag == "section":
            self.sections.append(a.get("id"))
        if tag == "img":
            self.images.append(a.get("src", ""))
        if "href" in a:
            self.links.append(a["href"])
        if tag in ("td", "th"):
            self._cell, self._cell_text = a, ""

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.cells.append((self._cell, self._cell_text))
            self._cell = None

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell_text += data

    def value(self, **attrs) -> tuple[float, str]:
        """The one cell whose data-* attributes are ``attrs``: its exact value and its text."""
        (hit,) = [(a, t) for a, t in self.cells if all(a.get(f"data-{k}") == v for k, v in attrs.items())]
        return float(hit[0]["data-value"]), hit[1]


def read(run_dir: Path) -> tuple[str, Page, dict]:
    text = (run_dir / "report.html").read_text(encoding="utf-8")
    return text, Page(text), json.loads((run_dir / "metrics.json").read_text())


def hostile(run_dir: Path) -> str:
    """The markup the finished run's spec carries in its description, a class name and a stage name."""
    import yaml

    return yaml.safe_load((run_dir / "spec.yaml").read_text())["description"]


def test_every_run_writes_a_report_whose_numbers_are_those_of_metrics_json(finished_run):
    text, page, m = read(finished_run)
    assert [s for s in page.sections] == list(RUN_SECTIONS)
    for key in ("test/accuracy", "validation/loss", "test/balanced_accuracy"):
        value, shown = page.value(metric=key, model="transfer")
        assert value == m["metrics"][key] and shown == f"{m['metrics'][key]:.4f}"
        value, _ = page.value(metric=key, model="baseline")
        assert value == m["baseline"]["metrics"][key]
    test = m["transfer"]["test"]
    assert page.value(role="difference")[0] == test["difference"]
    verdict = [t for a, t in page.cells if a.get("data-role") == "interval"]
    assert verdict == [f"[{test['ci_low']:+.4f}, {test['ci_high']:+.4f}]"]
    assert f'data-verdict="{m["transfer"]["verdict"]}"' in text
    for warning in m["transfer"]["warnings"]:  # the mlp source has no pretrained weights
        assert f"warning: {warning}" in "".join(page.text)
    cells = {t for _, t in page.cells}
    assert all(split in cells and f"{n:,}" in cells for split, n in m["data"].items())
    assert "early stopping" in text and "best epoch" in text  # the second stage has early stopping


def test_the_report_shows_the_test_confusion_matrix_of_both_models(finished_run):
    _, page, m = read(finished_run)
    (entry,) = m["test_predictions"]
    assert entry["split"] == "test" and entry["examples"] == m["metrics"]["test/examples"]
    for matrix, key, model in ((entry["confusion_matrix"], "metrics", "transfer"),
                               (entry["baseline_confusion_matrix"], "baseline", "baseline")):
        matrix = np.asarray(matrix)
        assert matrix.sum() == entry["examples"]
        accuracy = m["metrics"]["test/accuracy"] if key == "metrics" else m["baseline"]["metrics"]["test/accuracy"]
        assert np.trace(matrix) / matrix.sum() == pytest.approx(accuracy)
        cells = [int(t) for a, t in page.cells if a.get("data-model") == model and "data-metric" not in a and "data-value" not in a]
        assert cells == matrix.reshape(-1).tolist()  # row by row, as in metrics.json


def test_spec_and_data_strings_are_escaped_not_run(finished_run):
    text, page, _ = read(finished_run)
    markup = hostile(finished_run)
    assert "<script>" in markup
    assert "script" not in page.tags and "b" not in page.tags  # the markup stayed text
    assert "<script" not in text and "&lt;script&gt;alert" in text
    shown = "".join(page.text)
    assert shown.count(markup) >= 4  # as text: the description, class 8, the stage name, the spec
    assert [t for _, t in page.cells].count(markup) == 4  # class 8 heads a row and a column of each confusion matrix



def test_the_report_is_self_contained(finished_run):
    text, page, _ = read(finished_run)
    assert "script" not in page.tags and "link" not in page.tags and "iframe" not in page.tags
    assert page.images and all(src.startswith("data:image/png;base64,") for src in page.images)
    assert base64.b64decode(page.images[0].split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert "http://" not in text and "https://" not in text and "url(" not in text
    assert all(not link.startswith(("http", "//")) for link in page.links)
    # the figure is curves.png itself, not a second drawing of it
    assert base64.b64decode(page.images[0].split(",", 1)[1]) == (finished_run / "curves.png").read_bytes()


def test_confusion_matrix_and_r_squared_agree_with_scikit_learn():
    from sklearn import metrics

    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 200)
    p = rng.random((200, 4))
    assert confusion_matrix(y, p, 4) == metrics.confusion_matrix(y, p.argmax(-1), labels=range(4)).tolist()
    t = rng.normal(size=(50, 2))
    q = t + rng.normal(scale=0.5, size=(50, 2))
    assert r_squared(t, q) == pytest.approx(metrics.r2_score(t, q))
    assert r_squared(np.ones(5), np.zeros(5)) is None  # constant targets: R² is undefined
    mean = mean_predictor(t, t[:10])
    assert mean["mae"] == pytest.approx(metrics.mean_absolute_error(t, np.tile(t[:10].mean(0), (50, 1))))


def test_a_regression_report_gives_r2_and_the_predict_the_mean_baseline(spec_file, tmp_path, digits_npz):
    import keras

    from adaptkit._plugins import get_host
    from adaptkit._splits import load_splits
    from adaptkit._types import RunContext
    from sklearn import metrics

    d = np.load(digits_npz)
    npz = tmp_path / "value.npz"
    np.savez(npz, x=d["x"], y=d["y"].astype("float32"))
    path = spec_file(f"{{data: {{train: {{kind: arrays, path: {npz}, scale: 0.0625, task: regression}}, batch_size: 64}}, "
                     "head: {kind: regression}}")
    spec = load_spec_file(path)
    run_dir = run_pipeline(spec, path).run_dir
    _, page, m = read(run_dir)
    (entry,) = m["test_predictions"]
    splits = load_splits(spec, get_host(), RunContext(seed=spec.seed, spec_dir=path.parent))
    xs, ys = zip(*[(x.numpy(), y.numpy()) for x, y in splits.batched("test", 512)])
    x, y = np.concatenate(xs), np.concatenate(ys)
    train_y = np.concatenate([y.numpy() for _, y in splits.batched("train", 512)])
    raw = x / 0.0625  # model.keras takes the file's raw values (the loader's scale is inside)
    p = keras.saving.load_model(run_dir / "model.keras").predict(raw, verbose=0).reshape(-1)
    assert entry["r2"] == pytest.approx(metrics.r2_score(y, p), rel=1e-4)
    assert entry["mean_predictor"]["value"] == pytest.approx(train_y.mean())
    assert entry["mean_predictor"]["mae"] == pytest.approx(np.abs(y - train_y.mean()).mean(), rel=1e-5)
    assert entry["mean_predictor"]["mse"] == pytest.approx(((y - train_y.mean()) ** 2).mean(), rel=1e-5)
    assert page.value(role="r2")[0] == entry["r2"]
    assert page.value(role="mean-mae")[0] == entry["mean_predictor"]["mae"]
    assert page.value(metric="test/mae", model="transfer")[0] == m["metrics"]["test/mae"]
    assert "verdict" in page.sections and "no from-scratch baseline was trained" in "".join(page.text)


# -- a real browser -------------------------------------------------------------------------


def _chromium() -> str | None:
    for name in (os.environ.get("ADAPTKIT_CHROMIUM"), "chromium", "chromium-browser", "google-chrome", "chrome"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


def _browser(binary: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
             "--hide-scrollbars", f"--user-data-dir={profile}"]
    return subprocess.run([binary, *flags, *args], capture_output=True, text=True, timeout=180)


@pytest.mark.skipif(_chromium() is None, reason="no chromium on PATH (Debian: apt-get install chromium; or set ADAPTKIT_CHROMIUM)")
def test_the_report_renders_in_a_real_headless_browser(finished_run, tmp_path):
    binary = _chromium()
    url = (finished_run / "report.html").resolve().as_uri()
    dom = _browser(binary, tmp_path / "profile", "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    page = Page(dom.stdout)
    assert page.sections == list(RUN_SECTIONS)  # the browser built the same document
    assert "script" not in page.tags and hostile(finished_run) in "".join(page.text)
    shot = tmp_path / "report.png"
    out = _browser(binary, tmp_path / "profile", "--window-size=1280,2400", f"--screenshot={shot}", url)
    assert out.returncode == 0 and shot.is_file(), out.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1280, 2400)
    import matplotlib.image

    pixels = matplotlib.image.imread(shot)[..., :3]
    assert pixels.std() > 0.05  # not blank
    ink = (pixels.mean(-1) < 0.5).mean()  # dark pixels: text, lines, table borders
    assert 0.005 < ink < 0.5
    colours = np.unique((pixels[::4, ::4] * 255).astype(int).reshape(-1, 3), axis=0)
    assert len(colours) > 50  # text, tables, the coloured verdict, the figure's curves
    if os.environ.get("ADAPTKIT_KEEP_SCREENSHOT"):
        shutil.copy(shot, os.environ["ADAPTKIT_KEEP_SCREENSHOT"])
