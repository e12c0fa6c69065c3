"""A seeded spec fuzzer: mutated example specs through ``adaptkit validate``, in-process.

Every case must end with exit status 0 or 2, each line of its stderr one
``error: FILE: place: message`` (place: a dotted spec path, ``--set``, or the file
itself), no traceback, within a time bound and a memory bound, and without importing
TensorFlow. The seed is fixed, so CI sees the same cases every run;
``ADAPTKIT_FUZZ_CASES`` raises the count (``ADAPTKIT_FUZZ_SEED`` changes the draw).
"""

from __future__ import annotations

import copy
import json
import os
import random
import re
import signal
import sys
import time
import tracemalloc
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import pytest
import yaml
from click.testing import CliRunner

from adaptkit import build_spec_model, get_host
from adaptkit.cli import main

ROOT = Path(__file__).resolve().parents[1]
CASES = int(os.environ.get("ADAPTKIT_FUZZ_CASES", "300"))
SEED = int(os.environ.get("ADAPTKIT_FUZZ_SEED", "20261201"))
SECONDS_PER_CASE = 10.0
PEAK_MB_PER_CASE = 64.0

FILE_LEVEL = (  # messages about a whole file, which has no dotted place
    "not valid YAML", "not valid JSON", "not UTF-8 text", "larger than", "a spec must be a mapping",
    "nested deeper than", "the spec holds more than", "is a folder", "no such spec file", "not a regular file", "and ",
    "an integer of",
)

EXTREMES: list[Any] = [0, -1, 1, 1e308, -1e308, float("inf"), float("-inf"), float("nan"), 2**31, 2**32, 2**63,
                       -(2**63), 2**64, 10**40, 1e-320, 0.5, -0.0]
RETYPES: list[Any] = [None, True, False, "", "x", "2", "1e-3", 3, -7, 2.5, [], {}, [1, 2], {"a": 1}, [[1]], "ü∂\u202e",
                      "a" * 5000]
BAD_SETS = [".=1", "a..b=1", "a.=1", ".a=1", "=1", "seed", "training.stages.99.epochs=1", "seed.x=1",
            "training.stages.-1.epochs=1", "training.stages.²=1", "a" * 300 + "=1", "data.batch_size=" + "[" * 200 + "]" * 200,
            "head={kind: classifier, kind: regression}", "head=*nope", "head.hidden=[&a [1], *a, *a]", "name=\x00",
            "training.stages.0.epochs=" + "9" * 5000, "source={kind: " + "k" * 2000 + "}", "x." * 100 + "y=1",
            "training.stages.0.optimizer.learning_rate=nan", "seed=-1", "data.test_split=0", "tasks=[]"]
ODD_YAML = [  # tags, keys and anchors a YAML file may hold
    b"x: !!binary aGVsbG8=", b"seed: !!set {a, b}", b"head: !!omap [{kind: classifier}]", b"x: !foo bar",
    b"x: !!python/object/apply:os.system [echo]", b"seed: !!float abc", b"seed: !!int 0xZZ", b"x: !!timestamp 2024-13-01",
    b"? [a, b]\n: c", b"1: x", b"null: y", b".nan: 1", b"seed: 190:20:30", b"x: &a b\ny: &a c", b"seed: *undefined",
    b"base: &b {kind: mlp}\nsource: {<<: *b, units: [3]}", b"source: {<<: [1, 2]}", b"---\nname: y", b'x: "\\ud800"',
]
LAUGHS = (
    'lol_a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    + "".join(f"lol_{c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi"))
)


def base_specs() -> list[tuple[str, dict]]:
    """The example pipelines, the specs shown in the docs, and the test suite's small specs."""
    out = [(p.name, yaml.safe_load(p.read_text())) for p in sorted((ROOT / "pipelines").glob("*.yaml"))]
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        for i, block in enumerate(re.findall(r"```yaml\n(.*?)```", doc.read_text(), re.S)):
            try:
                data = yaml.safe_load(block)
            except yaml.YAMLError:
                continue
            if isinstance(data, dict) and "training" in data:
                out.append((f"{doc.name}#{i}", data))
    out.append(("tests", {
        "name": "t", "seed": 3, "data": {"train": {"kind": "arrays", "path": "d.npz", "scale": 0.0625}, "batch_size": 64},
        "source": {"kind": "mlp", "units": [32, 16]}, "head": {"kind": "classifier"},
        "training": {"verbose": 0, "stages": [{"epochs": 2, "optimizer": {"learning_rate": 0.01}}]},
    }))
    return out


def places(data: Any, path: tuple = ()) -> list[tuple]:
    """Every (container, key, path) in a spec, at every depth."""
    out = []
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for key, value in list(items):
        out.append((data, key, path + (key,)))
        out.extend(places(value, path + (key,)))
    return out


def misspelt(rng: random.Random, key: str) -> str:
    letters = "abcdefghijklmnopqrstuvwxyz_"
    i = rng.randrange(len(key) + 1)
    op = rng.choice(["drop", "add", "swap", "case"])
    if op == "drop" and len(key) > 1:
        return key[:i] + key[i + 1:] if i < len(key) else key[:-1]
    if op == "swap" and len(key) > 2:
        i = min(i, len(key) - 2)
        return key[:i] + key[i + 1] + key[i] + key[i + 2:]
    if op == "case":
        return key.upper()
    return key[:i] + rng.choice(letters) + key[i:]


@dataclass
class Case:
    name: str
    text: bytes
    suffix: str = ".yaml"
    sets: list[str] = field(default_factory=list)
    no_files: bool = False


MARK = "@fuzz:"
DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _expand(rng: random.Random, what: str, n: int) -> str:
    """A large value as flow text, the same in JSON and YAML."""
    if what == "deep":
        opens = [rng.choice(["[", '{"k": ']) for _ in range(n)]
        return "".join(opens) + "1" + "".join("]" if o == "[" else "}" for o in reversed(opens))
    if what == "string":
        return '"' + "x" * (n * 100) + '"'
    if what == "list":
        return "[" + ", ".join(map(str, range(n))) + "]"
    return "{" + ", ".join(f'"k{i}": {i}' for i in range(n)) + "}"


def dump(rng: random.Random, data: Any) -> tuple[bytes, str]:
    """The spec as JSON or YAML text, with the markers of large values written out."""
    if rng.random() < 0.3:
        text, suffix = json.dumps(data), ".json"
    else:
        text, suffix = yaml.dump(data, Dumper=DUMPER, sort_keys=False, allow_unicode=True, width=10**9), ".yaml"
    pattern = r"['\"]?" + MARK + r"(\w+):(\d+)['\"]?"
    return re.sub(pattern, lambda m: _expand(rng, m.group(1), int(m.group(2))), text).encode(), suffix


def _kinds() -> list[str]:
    return sorted({kind for family in get_host().sections.values() for kind in family})


def mutate(rng: random.Random, data: dict) -> tuple[str, Any]:
    """One data-level mutation, in place; returns its name (and the data, which may be replaced)."""
    spots = places(data)
    if not spots:  # everything dropped already
        return "empty", data
    container, key, path = rng.choice(spots)
    where = ".".join(map(str, path))
    op = rng.choice(["drop", "misspell", "retype", "extreme", "kind", "deep", "long", "wrap"])
    if op == "drop":
        del container[key]
    elif op == "misspell" and isinstance(key, str):
        container[misspelt(rng, key)] = container.pop(key)
    elif op == "retype":
        container[key] = copy.deepcopy(rng.choice(RETYPES))
    elif op == "extreme":
        container[key] = rng.choice(EXTREMES)
    elif op == "kind":
        kinds = [p for p in spots if p[1] in ("kind", "name") and isinstance(p[0], dict)]
        if kinds:
            container, key, path = rng.choice(kinds)
            where = ".".join(map(str, path))
            container[key] = rng.choice(_kinds())
    elif op == "deep":  # markers, written out by dump(): a dumper would recurse, and is slow
        container[key] = f"{MARK}deep:{rng.choice([10, 62, 63, 65, 200, 900, 5000])}"
    elif op == "long":
        sizes = [300, 1_000, 3_000, 300, 1_000, 3_000, 12_000]  # now and then past the 10,000 values a spec may hold
        container[key] = f"{MARK}{rng.choice(['string', 'list', 'mapping'])}:{rng.choice(sizes)}"
    else:  # wrap the value in a list or mapping
        container[key] = [container[key]] if rng.random() < 0.5 else {"value": container[key]}
    return f"{op}@{where}", data


def text_mutation(rng: random.Random, text: bytes) -> tuple[str, bytes]:
    """One mutation of the file's bytes."""
    op = rng.choice(["truncate", "garble", "non_utf8", "dup_line", "laughs", "recursive", "indent", "nul", "tags"])
    if op == "tags":
        return op, text + b"\n" + rng.choice(ODD_YAML) + b"\n"
    if op == "truncate":
        return op, text[: rng.randrange(len(text) + 1)]
    if op == "garble":
        chars = bytearray(text)
        for _ in range(rng.randint(1, 8)):
            chars.insert(rng.randrange(len(chars) + 1), rng.choice(b"{}[]:,-&*!|>'\"#%@`?\t\n "))
        return op, bytes(chars)
    if op == "non_utf8":
        i = rng.randrange(len(text) + 1)
        return op, text[:i] + bytes(rng.randrange(128, 256) for _ in range(rng.randint(1, 4))) + text[i:]
    if op == "dup_line":
        lines = text.splitlines(keepends=True) or [b"name: x\n"]
        i = rng.randrange(len(lines))
        return op, b"".join(lines[: i + 1] + [lines[i]] + lines[i + 1:])
    if op == "laughs":
        target = rng.choice([b"source: {kind: *i}\n", b"description: *i\n", b"head: *i\n", b"seed: *e\n"])
        return op, (LAUGHS.encode() + text + b"\n" + target)
    if op == "recursive":
        return op, text + b"\nloop: &r {self: *r}\n"
    if op == "indent":
        lines = text.splitlines(keepends=True) or [b"x\n"]
        i = rng.randrange(len(lines))
        lines[i] = b" " * rng.randint(1, 7) + lines[i]
        return op, b"".join(lines)
    return op, text.replace(b"\n", b"\x00\n", 1)


def whole_file(rng: random.Random) -> tuple[str, bytes, str]:
    """A file that is no spec at all."""
    op = rng.choice(["empty", "blank", "binary", "scalar", "list", "huge", "bom", "deep_text"])
    if op == "empty":
        return op, b"", ".yaml"
    if op == "blank":
        return op, b"  \n\n# only a comment\n", ".yaml"
    if op == "binary":
        return op, bytes(rng.randrange(256) for _ in range(rng.randint(1, 4096))), rng.choice([".yaml", ".json"])
    if op == "scalar":
        return op, rng.choice([b"42\n", b"null\n", b'"a string"\n', b"9" * 6000]), rng.choice([".yaml", ".json"])
    if op == "list":
        return op, b"- name: x\n- 2\n", ".yaml"
    if op == "huge":
        return op, b"name: x\ndescription: '" + b"x" * (1 << 20) + b"'\n", ".yaml"
    if op == "bom":
        return op, b"\xef\xbb\xbfname: x\n", ".yaml"
    n = rng.choice([100, 1000, 20000])
    return op, b"name: x\nhead: " + b"[" * n + b"]" * n + b"\n", rng.choice([".yaml", ".json"])


def draw_cases(rng: random.Random, n: int) -> list[Case]:
    bases = base_specs()
    cases = []
    for i in range(n):
        name, base = rng.choice(bases)
        roll = rng.random()
        if roll < 0.08:
            op, text, suffix = whole_file(rng)
            cases.append(Case(f"{i}:{op}", text, suffix))
            continue
        if roll < 0.13:  # as it is: valid specs must pass (exit 0, nothing on stderr)
            text, suffix = dump(rng, base)
            cases.append(Case(f"{i}:{name}:as-is", text, suffix, no_files=True))
            continue
        data = copy.deepcopy(base)
        ops = []
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            op, data = mutate(rng, data)
            ops.append(op)
        text, suffix = dump(rng, data)
        if roll < 0.35 and suffix == ".yaml":
            op, text = text_mutation(rng, text)
            ops.append(op)
        sets = [rng.choice(BAD_SETS)] if rng.random() < 0.15 else []
        cases.append(Case(f"{i}:{name}:{'+'.join(ops)}", text, suffix, sets, no_files=rng.random() < 0.5))
    return cases


class Hang(Exception):
    pass


def _alarm(signum: int, frame: Any) -> None:
    raise Hang()


@dataclass
class Outcome:
    exit_code: int
    seconds: float
    peak_mb: float
    stderr: str
    problem: Optional[str] = None


def run_case(case: Case, folder: Path, top_level: set[str]) -> Outcome:
    path = folder / f"spec{case.suffix}"
    path.write_bytes(case.text)
    args = ["validate", str(path), *[w for s in case.sets for w in ("--set", s)]] + (["--no-files"] if case.no_files else [])
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, SECONDS_PER_CASE)
    tracemalloc.start()
    start = time.perf_counter()
    try:
        result = CliRunner().invoke(main, args)
    finally:
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    out = Outcome(result.exit_code, seconds, peak, result.stderr)
    if isinstance(result.exception, Hang):
        out.problem = "hang"
    elif result.exception is not None and not isinstance(result.exception, SystemExit):
        out.problem = f"exception {type(result.exception).__name__}: {result.exception}"[:300]
    elif result.exit_code not in (0, 2):
        out.problem = f"exit {result.exit_code}"
    elif "Traceback" in result.output or 'File "' in result.output:
        out.problem = "traceback"
    elif result.exit_code == 2 and not result.stderr.strip():
        out.problem = "exit 2 without a message"
    elif result.exit_code == 0 and result.stderr.strip():
        out.problem = "exit 0 with errors"
    elif peak > PEAK_MB_PER_CASE:
        out.problem = f"peak memory {peak:.0f} MB"
    else:
        out.problem = next((f"bad line: {line[:200]!r}" for line in result.stderr.splitlines() if not _good_line(line, str(path), top_level)), None)
    return out


def _good_line(line: str, path: str, top_level: set[str]) -> bool:
    """``error: FILE: place: message``: the place a dotted spec path (its first part a key of the
    spec or of the spec's model) or --set; or ``error: FILE: message`` about the file itself."""
    prefix = f"error: {path}: "
    if not line.startswith(prefix) or len(line) > 1500:
        return False
    rest = line[len(prefix):]
    if rest.startswith(FILE_LEVEL) and "\n" not in rest:
        return True
    place, sep, message = rest.partition(": ")
    first = place.split(".")[0]
    if not sep or not message.strip() or not first:
        return False
    cut = first.endswith("…")  # a long key, shown cut
    return place == "--set" or any(key == first or cut and key.startswith(first[:-1]) for key in top_level)


def test_the_spec_fuzzer_finds_no_crash_no_hang_and_no_stray_output(tmp_path):
    rng = random.Random(SEED)
    cases = draw_cases(rng, CASES)
    tf_before = "tensorflow" in sys.modules
    fields = set(build_spec_model().model_fields)
    counts: dict[Any, int] = {}
    problems, slowest, peak = [], 0.0, 0.0
    started = time.perf_counter()
    for case in cases:
        top_level = fields | {str(k) for k in _top_keys(case)}
        outcome = run_case(case, tmp_path, top_level)
        counts[outcome.exit_code] = counts.get(outcome.exit_code, 0) + 1
        slowest, peak = max(slowest, outcome.seconds), max(peak, outcome.peak_mb)
        if outcome.problem:
            problems.append(f"{case.name} (sets {case.sets}): {outcome.problem} | {outcome.stderr[:300]!r}")
    total = time.perf_counter() - started
    hangs = sum("hang" in p for p in problems)
    tracebacks = sum("traceback" in p or "exception" in p for p in problems)
    print(
        f"\nspec fuzz (seed {SEED}): {len(cases)} cases in {total:.1f} s; exit codes "
        f"{dict(sorted(counts.items()))}; tracebacks {tracebacks}; hangs {hangs}; other problems "
        f"{len(problems) - hangs - tracebacks}; slowest case {slowest:.2f} s; peak memory {peak:.1f} MB"
    )
    assert not problems, "\n".join(problems[:20])
    assert set(counts) <= {0, 2}
    if not tf_before:
        assert "tensorflow" not in sys.modules, "validate imported TensorFlow"


def _top_keys(case: Case) -> list:
    """The top-level keys of the case's file (misspelt ones are places too): parsed, or read off
    the lines that start a top-level YAML key when it does not parse."""
    keys: list = re.findall(r"^([^\s#:\-\[{][^:\n]*):", case.text.decode("utf-8", "replace"), re.M)
    try:
        data = json.loads(case.text) if case.suffix == ".json" else yaml.load(case.text, Loader=LOADER)
    except Exception:  # noqa: BLE001 - an unparsable file: the lines' keys
        data = None
    keys += list(data) if isinstance(data, dict) else []
    keys += [s.partition("=")[0].split(".")[0] for s in case.sets]
    return keys
