"""The truth that docs/choosing.md puts beside the transferability scores: each candidate of a rank spec fine-tuned.

For every entry of the spec's ``candidates`` list, the spec is run as an ordinary pipeline
(``adaptkit run --seeds N``) with that candidate's ``source`` (and ``surgery``, when it has
its own) in place of the spec's; the test accuracy of each seed is collected. With
``--scores rank.json`` (written by ``adaptkit rank SPEC --output DIR``), Kendall's tau
between each score and the mean fine-tuned accuracy is printed too.

    python benchmarks/transferability.py pipelines/elpv_rank.yaml --seeds 3 --out benchmarks/results/elpv-rank
    python benchmarks/transferability.py pipelines/elpv_rank.yaml --truth benchmarks/results/elpv-rank/truth.json \\
        --scores benchmarks/results/elpv-rank/rank.json

``--set`` overrides go to every run (``--set training.stages.1.epochs=2``). Writes
``truth.json`` into ``--out``: {candidate: {"seeds": [...], "accuracy": [...], "mean", "sd"}}.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def candidate_specs(spec_path: Path) -> list[tuple[str, dict]]:
    """(name, the plain pipeline spec with that candidate's source) for each candidate."""
    spec = yaml.safe_load(spec_path.read_text())
    out = []
    for i, cand in enumerate(spec.get("candidates") or []):
        name = cand.get("name") or f"{cand['source']['kind']}-{i}"
        plain = {k: v for k, v in spec.items() if k not in ("candidates", "rank")}
        plain["source"] = cand["source"]
        if cand.get("surgery") is not None:
            plain["surgery"] = cand["surgery"]
        plain["name"] = f"{spec['name']}-{name}"
        out.append((name, plain))
    return out


def run_candidate(spec_path: Path, name: str, plain: dict, seeds: int, out: Path, overrides: list[str]) -> dict:
    written = spec_path.with_name(f".truth-{spec_path.stem}-{name}.yaml")  # beside the spec: its relative paths hold
    written.write_text(yaml.safe_dump(plain, sort_keys=False))
    try:
        command = [sys.executable, "-m", "adaptkit.cli", "run", str(written), "--seeds", str(seeds), "--output", str(out / "runs")]
        command += [w for o in overrides for w in ("--set", o)]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"{name}: adaptkit run failed:\n{done.stderr[-3000:]}")
    finally:
        written.unlink(missing_ok=True)
    return collect(max((out / "runs").glob(f"{plain['name']}-2*"), key=lambda p: p.stat().st_mtime))


def collect(parent: Path) -> dict:
    """The test accuracy of every seed of one (repeated-seeds) run directory."""
    accuracies, seed_list, stages = [], [], []
    for folder in sorted(p for p in parent.glob("seed*") if p.is_dir()) or [parent]:  # one seed: the run itself
        stages.append(_stage_ends(folder / "history.csv"))
        metrics = json.loads((folder / "metrics.json").read_text())
        accuracies.append(metrics["metrics"]["test/accuracy"])
        seed_list.append(folder.name)
    return {
        "seeds": seed_list,
        "accuracy": accuracies,
        "mean": statistics.fmean(accuracies),
        "sd": statistics.stdev(accuracies) if len(accuracies) > 1 else 0.0,
        "run": str(parent),
        "validation_accuracy_by_stage": {
            name: statistics.fmean(seed[name] for seed in stages) for name in stages[0] if all(name in seed for seed in stages)
        },
    }


def _stage_ends(history: Path) -> dict:
    """Each stage's last val_accuracy in history.csv (frozen head stage vs fine-tuned stage)."""
    import csv

    ends = {}
    with history.open() as handle:
        for row in csv.DictReader(handle):
            ends[row["stage_name"]] = float(row["val_accuracy"])
    return ends


def kendall(truth: dict, scores: dict) -> dict:
    """Kendall's tau-b (scipy) between each score and the mean accuracy, over the candidates with both."""
    from scipy.stats import kendalltau

    out = {}
    for row in scores["candidates"][:1]:
        for score in row["scores"]:
            pairs = []
            for cand in scores["candidates"]:
                value = cand["scores"].get(score, {}).get("value")
                if value is not None and cand["name"] in truth:
                    pairs.append((value, truth[cand["name"]]["mean"]))
            if len(pairs) >= 2:
                tau = kendalltau(*zip(*pairs)).statistic
                out[score] = {"tau": None if tau != tau else float(tau), "candidates": len(pairs)}
    return out


def markdown(truth: dict, scores: dict) -> str:
    """The docs' table: every score and the fine-tuned accuracy per candidate, then Kendall's tau per score."""
    kinds = scores["scores"]
    lines = ["| candidate | " + " | ".join(f"`{k}`" for k in kinds) + " | features | forward s | fine-tuned test accuracy (3 seeds) |",
             "|---|" + "---:|" * (len(kinds) + 3)]
    for cand in scores["candidates"]:
        cells = [("n/a" if cand["scores"][k]["value"] is None else f"{cand['scores'][k]['value']:.4g}") for k in kinds]
        t = truth.get(cand["name"])
        shown = f"{t['mean']:.3f} ± {t['sd']:.3f} ({', '.join(f'{a:.2f}' for a in t['accuracy'])})" if t else "not run"
        lines.append(f"| {cand['name']} | " + " | ".join(cells) + f" | {cand['feature_dim']} | {cand['forward_seconds']:.0f} | {shown} |")
    taus = kendall(truth, scores)
    lines.append("| **Kendall's τ with the accuracy** | " + " | ".join(
        ("n/a" if taus.get(k, {}).get("tau") is None else f"{taus[k]['tau']:+.2f}" + (f" (over {taus[k]['candidates']})" if taus[k]["candidates"] < len(scores["candidates"]) else ""))
        for k in kinds) + " | | | |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("spec", type=Path)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None, help="Folder for the runs and truth.json.")
    parser.add_argument("--only", action="append", default=[], help="Run only this candidate (repeatable).")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--truth", type=Path, default=None, help="Read this truth.json instead of running.")
    parser.add_argument("--scores", type=Path, default=None, help="A rank.json: print Kendall's tau per score.")
    parser.add_argument("--recollect", action="store_true", help="With --truth: read its run directories again.")
    parser.add_argument("--markdown", action="store_true", help="With --scores: print the table of docs/choosing.md.")
    args = parser.parse_args()
    spec_path = args.spec.resolve()
    if args.truth is not None:
        truth = json.loads(args.truth.read_text())
        if args.recollect:  # read the run directories again (after this script learnt to read more)
            truth = {name: collect(Path(entry["run"])) for name, entry in truth.items()}
            args.truth.write_text(json.dumps(truth, indent=2))
    else:
        out = (args.out or ROOT / "benchmarks" / "results" / spec_path.stem).resolve()
        out.mkdir(parents=True, exist_ok=True)
        path = out / "truth.json"
        truth = json.loads(path.read_text()) if path.exists() else {}
        for name, plain in candidate_specs(spec_path):
            if (args.only and name not in args.only) or name in truth:
                continue  # truth.json keeps what an earlier call measured
            truth[name] = run_candidate(spec_path, name, plain, args.seeds, out, args.overrides)
            print(f"{name}: test accuracy {truth[name]['mean']:.3f} ± {truth[name]['sd']:.3f} ({truth[name]['accuracy']})", flush=True)
            path.write_text(json.dumps(truth, indent=2))
    if args.scores is not None and args.markdown:
        print(markdown(truth, json.loads(args.scores.read_text())))
    elif args.scores is not None:
        for score, tau in kendall(truth, json.loads(args.scores.read_text())).items():
            shown = "n/a" if tau["tau"] is None else f"{tau['tau']:+.2f}"
            print(f"Kendall tau {score}: {shown} over {tau['candidates']} candidates")


if __name__ == "__main__":
    main()
