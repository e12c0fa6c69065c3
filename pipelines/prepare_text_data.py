#!/usr/bin/env python3
"""Prepare text datasets for adaptkit's pipelines (standard library only).

    python pipelines/prepare_text_data.py vader OUTDIR [--sdist PATH] [--cache-dir DIR] [--combined]

``vader``: the human-rated sentiment corpus of Hutto & Gilbert (ICWSM 2014),
shipped in the vaderSentiment 3.3.2 *source* distribution (MIT) as
``additional_resources/hutto_ICWSM_2014.tar.gz``. Writes one CSV per domain,
``OUTDIR/{movie,tweets,amazon,nyt}.csv``, with columns ``text,label,score``:
``score`` is the mean human rating (-4..4), ``label`` is ``positive`` when it is
above 0 and ``negative`` below; snippets rated exactly 0 are dropped.
``--combined`` also writes ``OUTDIR/all.csv``: the four domains one after the other,
with columns ``text,label,score,domain`` (multi-task data: polarity, rating, domain).

Get the sdist (the wheel lacks the data) with:

    pip download --no-deps --no-binary :all: vaderSentiment==3.3.2 -d ~/.cache/adaptkit
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
import tarfile
from pathlib import Path

SDIST = "vaderSentiment-3.3.2.tar.gz"
INNER = "additional_resources/hutto_ICWSM_2014.tar.gz"
DOMAINS = {
    "movie": "movieReviewSnippets_GroundTruth.txt",
    "tweets": "tweets_GroundTruth.txt",
    "amazon": "amazonReviewSnippets_GroundTruth.txt",
    "nyt": "nytEditorialSnippets_GroundTruth.txt",
}
PIP = "pip download --no-deps --no-binary :all: vaderSentiment==3.3.2 -d DIR"


class PrepError(Exception):
    """A one-line error for the user."""


def default_cache_dirs() -> list[Path]:
    dirs = []
    if os.environ.get("ADAPTKIT_CACHE"):
        dirs.append(Path(os.environ["ADAPTKIT_CACHE"]))
    dirs += [Path.home() / ".cache" / "adaptkit", Path.cwd()]
    return dirs


def find_sdist(explicit: str | None, cache_dirs: list[Path]) -> Path:
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise PrepError(f"{path}: no such file (get it with: {PIP})")
        return path
    for d in cache_dirs:
        for name in (SDIST, SDIST.lower()):
            if (d / name).is_file():
                return d / name
    looked = ", ".join(str(d) for d in cache_dirs)
    raise PrepError(f"{SDIST} not found in {looked}; get it with: {PIP} (or pass --sdist PATH)")


def read_corpus(sdist: Path) -> dict[str, bytes]:
    """The four ground-truth files' bytes, by domain."""
    try:
        with tarfile.open(sdist, "r:gz") as outer:
            member = next((m for m in outer.getmembers() if m.name.endswith(INNER)), None)
            if member is None:
                raise PrepError(f"{sdist}: no {INNER} inside (is it the vaderSentiment 3.3.2 sdist?)")
            inner_bytes = outer.extractfile(member).read()
        out = {}
        with tarfile.open(fileobj=io.BytesIO(inner_bytes), mode="r:gz") as inner:
            names = {Path(m.name).name: m for m in inner.getmembers() if m.isfile()}
            for domain, name in DOMAINS.items():
                if name not in names:
                    raise PrepError(f"{sdist}: {INNER} lacks {name}")
                out[domain] = inner.extractfile(names[name]).read()
        return out
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise PrepError(f"{sdist}: not a readable .tar.gz ({exc})") from exc


def parse(raw: bytes, name: str) -> list[tuple[str, str, float]]:
    """``(text, label, score)`` rows; zero-rated rows dropped."""
    rows = []
    for n, line in enumerate(raw.decode("latin-1").splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split("\t", 2)
        if len(parts) != 3:
            raise PrepError(f"{name}:{n}: expected id, score, text separated by tabs")
        try:
            score = float(parts[1])
        except ValueError:
            raise PrepError(f"{name}:{n}: score {parts[1]!r} is not a number") from None
        text = parts[2].strip()
        if score == 0 or not text:
            continue
        rows.append((text, "positive" if score > 0 else "negative", score))
    return rows


def write_csv(path: Path, rows: list[tuple], header: tuple[str, ...] = ("text", "label", "score")) -> None:
    """Rows ``(text, label, score, *more)`` under ``header``."""
    tmp = path.with_suffix(".csv.tmp")
    with tmp.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows((t, lab, f"{s:g}", *more) for t, lab, s, *more in rows)
    tmp.replace(path)  # never leave a half-written CSV under the final name


def vader(outdir: Path, sdist: str | None, cache_dirs: list[Path], combined: bool = False) -> None:
    corpus = read_corpus(find_sdist(sdist, cache_dirs))
    outdir.mkdir(parents=True, exist_ok=True)
    everything = []
    for domain, raw in corpus.items():
        rows = parse(raw, DOMAINS[domain])
        write_csv(outdir / f"{domain}.csv", rows)
        everything += [(*row, domain) for row in rows]
        pos = sum(1 for _, lab, _ in rows if lab == "positive")
        print(f"{outdir / (domain + '.csv')}: {len(rows)} rows ({pos} positive, {len(rows) - pos} negative)")
    if combined:
        write_csv(outdir / "all.csv", everything, ("text", "label", "score", "domain"))
        print(f"{outdir / 'all.csv'}: {len(everything)} rows of {len(corpus)} domains (column domain)")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("dataset", choices=["vader"], help="which dataset to prepare")
    p.add_argument("outdir", type=Path, help="where to write the CSV files")
    p.add_argument("--sdist", help=f"path to {SDIST}")
    p.add_argument("--cache-dir", action="append", type=Path, help="where to look for the sdist (repeatable)")
    p.add_argument("--combined", action="store_true", help="also write all.csv: every domain, with a domain column")
    args = p.parse_args(argv)
    try:
        vader(args.outdir, args.sdist, args.cache_dir or default_cache_dirs(), args.combined)
    except PrepError as exc:
        print(f"prepare_text_data: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
