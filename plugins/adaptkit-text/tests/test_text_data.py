"""text_table and text_directory: formats, labels, splits by seed, and every bad input."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from pydantic import ValidationError

import adaptkit
from adaptkit_text.data import load_text_directory, load_text_table
from adaptkit_text.sections import TextDirectory, TextTable


def ctx(tmp_path, seed=0):
    return adaptkit.RunContext(seed=seed, spec_dir=Path(tmp_path), where="data.train", log=logging.getLogger("test"))


def table(**kw):
    return TextTable(kind="text_table", **kw)


def rows(source):
    out = []
    for el in source.dataset.as_numpy_iterator():
        out.append((el[0].decode(), el[1].item()) if isinstance(el, tuple) else el.decode())
    return out


def write(path: Path, text: str, encoding="utf-8") -> Path:
    path.write_text(text, encoding=encoding)
    return path


def test_csv_with_quotes_commas_and_given_classes(tmp_path):
    write(tmp_path / "r.csv", 'text,label\n"great, really great",pos\n"awful ""film""",neg\nmeh,neg\n')
    src = load_text_table(table(path="r.csv", class_names=["neg", "pos"], shuffle=False), ctx(tmp_path))
    assert src.size == 3 and src.input_shape == () and src.class_names == ["neg", "pos"] and src.labeled
    assert rows(src) == [("great, really great", 1), ('awful "film"', 0), ("meh", 0)]


def test_tsv_by_extension_latin1_and_sorted_classes(tmp_path):
    write(tmp_path / "r.tsv", "id\tsentence\tgold\n1\tcafé crème\tyes\n2\tno way\tno\n", encoding="latin-1")
    src = load_text_table(
        table(path="r.tsv", text_column="sentence", label_column="gold", encoding="latin-1", shuffle=False),
        ctx(tmp_path),
    )
    assert src.class_names == ["no", "yes"]
    assert rows(src) == [("café crème", 1), ("no way", 0)]


def test_jsonl_regression_and_unlabeled(tmp_path):
    lines = [{"text": "up", "score": 2.5}, {"text": "down", "score": -1}, {"text": "flat", "score": 0}]
    write(tmp_path / "s.jsonl", "\n".join(json.dumps(x) for x in lines) + "\n\n")
    src = load_text_table(table(path="s.jsonl", label_column="score", task="regression", shuffle=False), ctx(tmp_path))
    assert src.class_names is None and rows(src) == [("up", 2.5), ("down", -1.0), ("flat", 0.0)]
    unl = load_text_table(table(path="s.jsonl", labeled=False, label_column=None, shuffle=False), ctx(tmp_path))
    assert not unl.labeled and rows(unl) == ["up", "down", "flat"]


def test_seeded_shuffle_and_disjoint_skip_limit(tmp_path):
    write(tmp_path / "n.csv", "text,label\n" + "".join(f"t{i},{i % 2}\n" for i in range(40)))
    a = rows(load_text_table(table(path="n.csv", limit=25), ctx(tmp_path, seed=3)))
    b = rows(load_text_table(table(path="n.csv", skip=25), ctx(tmp_path, seed=3)))
    assert len(a) == 25 and len(b) == 15 and not {t for t, _ in a} & {t for t, _ in b}
    assert a == rows(load_text_table(table(path="n.csv", limit=25), ctx(tmp_path, seed=3)))
    assert a != rows(load_text_table(table(path="n.csv", limit=25), ctx(tmp_path, seed=4)))


def test_text_directory_labeled_and_unlabeled(tmp_path):
    for cls, texts in {"neg": ["bad", "worse"], "pos": ["good"]}.items():
        (tmp_path / "d" / cls).mkdir(parents=True)
        for i, t in enumerate(texts):
            write(tmp_path / "d" / cls / f"{i}.txt", t + "\n")
    write(tmp_path / "d" / "pos" / "notes.md", "ignored")
    src = load_text_directory(TextDirectory(kind="text_directory", path="d", shuffle=False), ctx(tmp_path))
    assert src.class_names == ["neg", "pos"] and rows(src) == [("bad", 0), ("worse", 0), ("good", 1)]
    unl = load_text_directory(TextDirectory(kind="text_directory", path="d", labeled=False), ctx(tmp_path))
    assert sorted(rows(unl)) == ["bad", "good", "worse"]


# -- bad input: one line, naming the place -------------------------------


def one_line(exc_info, where):
    err = exc_info.value
    assert "\n" not in str(err)
    assert err.where == where, err.where
    return err.message


def test_missing_file(tmp_path):
    with pytest.raises(adaptkit.DataError) as e:
        load_text_table(table(path="nope.csv"), ctx(tmp_path))
    assert one_line(e, str(tmp_path / "nope.csv")) == "no such file"


def test_empty_file_and_header_only(tmp_path):
    write(tmp_path / "e.csv", "")
    with pytest.raises(adaptkit.DataError, match="empty file") as e:
        load_text_table(table(path="e.csv"), ctx(tmp_path))
    one_line(e, str(tmp_path / "e.csv"))
    write(tmp_path / "h.csv", "text,label\n")
    with pytest.raises(adaptkit.DataError, match="no rows") as e:
        load_text_table(table(path="h.csv"), ctx(tmp_path))


def test_missing_text_and_label_columns(tmp_path):
    write(tmp_path / "c.csv", "review,label\nfine,pos\n")
    with pytest.raises(adaptkit.DataError) as e:
        load_text_table(table(path="c.csv"), ctx(tmp_path))
    assert one_line(e, str(tmp_path / "c.csv")) == "no text column 'text' (text_column); columns: review, label"
    with pytest.raises(adaptkit.DataError) as e:
        load_text_table(table(path="c.csv", text_column="review", label_column="stars"), ctx(tmp_path))
    assert "no label column 'stars' (label_column)" in one_line(e, str(tmp_path / "c.csv"))
    write(tmp_path / "j.jsonl", '{"text": "a", "label": "x"}\n{"text": "b"}\n')
    with pytest.raises(adaptkit.DataError, match="no label key 'label'") as e:
        load_text_table(table(path="j.jsonl"), ctx(tmp_path))
    one_line(e, f"{tmp_path / 'j.jsonl'}:2")


def test_label_not_in_class_list_names_file_and_line(tmp_path):
    write(tmp_path / "l.csv", "text,label\na,pos\nb,neutral\n")
    with pytest.raises(adaptkit.DataError) as e:
        load_text_table(table(path="l.csv", class_names=["neg", "pos"]), ctx(tmp_path))
    assert one_line(e, f"{tmp_path / 'l.csv'}:3") == "label 'neutral' is not in class_names [neg, pos]"


def test_other_bad_rows(tmp_path):
    write(tmp_path / "r.csv", "text,label\na,1.5\nb,lots\n")
    with pytest.raises(adaptkit.DataError, match="'lots' is not a number") as e:
        load_text_table(table(path="r.csv", task="regression"), ctx(tmp_path))
    one_line(e, f"{tmp_path / 'r.csv'}:3")
    write(tmp_path / "one.csv", "text,label\na,pos\nb,pos\n")
    with pytest.raises(adaptkit.DataError, match="only one class"):
        load_text_table(table(path="one.csv"), ctx(tmp_path))
    write(tmp_path / "bad.jsonl", '{"text": "a", "label": 1}\n{oops\n')
    with pytest.raises(adaptkit.DataError, match="not valid JSON") as e:
        load_text_table(table(path="bad.jsonl"), ctx(tmp_path))
    one_line(e, f"{tmp_path / 'bad.jsonl'}:2")
    (tmp_path / "w.csv").write_bytes(b"text,label\n\xff\xfe,pos\n")
    with pytest.raises(adaptkit.DataError, match="set encoding"):
        load_text_table(table(path="w.csv"), ctx(tmp_path))
    write(tmp_path / "x.data", "text,label\n")
    with pytest.raises(adaptkit.SpecError, match="set format") as e:
        load_text_table(table(path="x.data"), ctx(tmp_path))
    one_line(e, "data.train.format")


def test_directory_errors(tmp_path):
    with pytest.raises(adaptkit.DataError, match="no such directory"):
        load_text_directory(TextDirectory(kind="text_directory", path="none"), ctx(tmp_path))
    (tmp_path / "d" / "pos").mkdir(parents=True)
    (tmp_path / "d" / "spam").mkdir()
    write(tmp_path / "d" / "pos" / "a.txt", "x")
    with pytest.raises(adaptkit.DataError) as e:
        load_text_directory(TextDirectory(kind="text_directory", path="d", class_names=["neg", "pos"]), ctx(tmp_path))
    assert one_line(e, str(tmp_path / "d" / "spam")).startswith("folder 'spam' is not in class_names")
    (tmp_path / "e" / "a").mkdir(parents=True)
    with pytest.raises(adaptkit.DataError, match=r"no \.txt files"):
        load_text_directory(TextDirectory(kind="text_directory", path="e"), ctx(tmp_path))


def test_section_validation():
    with pytest.raises(ValidationError, match="unknown key|Extra inputs"):
        TextTable(kind="text_table", path="a.csv", text_col="t")
    with pytest.raises(ValidationError, match="class_names is for classification"):
        table(path="a.csv", task="regression", class_names=["a", "b"])
    with pytest.raises(ValidationError, match="at least two distinct"):
        table(path="a.csv", class_names=["a", "a"])
