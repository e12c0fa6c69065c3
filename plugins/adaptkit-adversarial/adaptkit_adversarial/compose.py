"""DANN, CDAN and MDD as adaptkit loss compositions.

The domain classifier is a module of the "main" player: the gradient reversal
layer makes one backward pass train it to tell the domains apart while the
encoder learns to confuse it (so no second optimizer is needed, as in the paper).
"""

from __future__ import annotations

from typing import Any, Callable

from keras import ops

import adaptkit

from adaptkit import (
    LossComposition,
    SpecError,
    LossTerm,
    ModelParts,
    RunContext,
    StepBatch,
    class_probabilities,
    feature_dim,
    model_feature_extractor,
    progress_weight,
    stream_features,
)

from .layers import (
    RandomizedMultilinearMap,
    domain_accuracy,
    domain_classifier,
    domain_loss,
    entropy_weights,
    margin_disparity,
    multilinear_map,
    reverse_gradient,
)
from .sections import CdanLoss, DannLoss, MddLoss

__all__ = ["compose_adversarial", "compose_mdd"]


def _probabilities(section: CdanLoss, parts: ModelParts) -> Callable[[Any], Any]:
    """``outputs -> class probabilities`` (C >= 2 columns), without gradient (as in CDAN's code)."""
    probs = class_probabilities(parts, section.outputs)
    return lambda outputs: ops.stop_gradient(probs(outputs))


def compose_adversarial(section: DannLoss | CdanLoss, parts: ModelParts, context: RunContext) -> LossComposition:
    if isinstance(section, CdanLoss) and parts.tasks:
        raise SpecError(context.where, "cdan conditions on one classifier's outputs; a multi-task model has one per task: use dann")
    extract = model_feature_extractor(parts, section.feature_layer, context.where + ".feature_layer")
    lam = progress_weight(section)
    tag = section.kind
    feat_dim = feature_dim(parts.encoder, extract)
    modules: list = []
    cond = None

    if isinstance(section, CdanLoss):
        probs = _probabilities(section, parts)
        n_classes = int(parts.classifier.output.shape[-1])
        n_classes = 2 if n_classes == 1 else n_classes
        randomized = section.randomized
        if randomized is None:
            randomized = feat_dim * n_classes > section.max_map_dim
        if randomized:
            rmap = RandomizedMultilinearMap(section.random_dim, seed=context.seed + 7919, name=f"{tag}_random_map")
            rmap.build(((None, feat_dim), (None, n_classes)))
            modules.append(rmap)
            in_dim = section.random_dim

            def cond(f, g):
                return rmap((f, g))
        else:
            in_dim = feat_dim * n_classes

            def cond(f, g):
                return multilinear_map(f, g)
    else:
        in_dim = feat_dim

    disc = domain_classifier(
        in_dim,
        hidden=section.discriminator.hidden,
        activation=section.discriminator.activation,
        dropout=section.discriminator.dropout,
        seed=context.seed + 1009,
        name=f"{tag}_domain_classifier",
    )
    modules.insert(0, disc)

    def logits(batch: StepBatch, reverse: bool, training: bool = True):
        fs, ft = stream_features(extract, batch, "source"), stream_features(extract, batch, "target")
        ns = ops.shape(fs)[0]
        h = ops.concatenate([fs, ft], axis=0)
        weights = None
        if cond is not None:
            g = ops.concatenate([probs(batch.outputs_source), probs(batch.outputs_target)], axis=0)
            h = cond(h, g)
            if getattr(section, "entropy", False):
                weights = entropy_weights(g)
        if reverse:
            h = reverse_gradient(h, lam(batch.progress))
        out = disc(h, training=training)
        split = (out[:ns], out[ns:])
        wsplit = (None, None) if weights is None else (weights[:ns], weights[ns:])
        return split, wsplit

    # the logits of the loss call on each batch, reused by the metric on the same batch; keyed by the
    # batch because a MirroredStrategy traces the step once per replica, in threads of its own
    last: dict = {}

    def loss(batch: StepBatch):
        (ls, lt), (ws, wt) = logits(batch, reverse=True)
        while len(last) >= 8:  # only the latest traces' batches can come back
            last.pop(next(iter(last)))
        last[id(batch)] = (batch, (ls, lt))
        return domain_loss(ls, lt, ws, wt)

    def accuracy(batch: StepBatch):
        seen, cached = last.get(id(batch), (None, None))
        if seen is batch:  # same step, same graph: no second forward pass
            ls, lt = cached
        else:
            (ls, lt), _ = logits(batch, reverse=False, training=False)
        return domain_accuracy(ops.stop_gradient(ls), ops.stop_gradient(lt))

    def current_lambda(batch: StepBatch):
        return lam(batch.progress)

    return LossComposition(
        terms=[LossTerm(name=f"{tag}_domain_loss", fn=loss, weight=1.0, player="main")],
        modules=modules,
        metrics={f"{tag}_domain_accuracy": accuracy, f"{tag}_lambda": current_lambda},
        aligned_at=section.feature_layer,
    )


def compose_mdd(section: MddLoss, parts: ModelParts, context: RunContext) -> LossComposition:
    """An adversarial classifier head behind gradient reversal, trained (as a module of the main player)
    to maximise the margin disparity while the features below it are pushed to minimise it."""
    if parts.tasks or parts.task.num_classes is None:
        raise SpecError(context.where, "mdd compares one classifier's predictions with an adversary's: it needs a one-task classifier")
    extract = model_feature_extractor(parts, section.feature_layer, context.where + ".feature_layer")
    lam = progress_weight(section)
    probs = class_probabilities(parts, section.outputs)
    spec = section.discriminator
    adversary = adaptkit.dense_network(
        feature_dim(parts.encoder, extract), spec.hidden, spec.activation, spec.dropout, seed=context.seed + 4001,
        name="mdd_adversary", output_name="logits", outputs=max(2, parts.task.num_classes),
    )

    def disparity(batch: StepBatch, reverse: bool):
        fs, ft = stream_features(extract, batch, "source"), stream_features(extract, batch, "target")
        if reverse:
            fs, ft = reverse_gradient(fs, lam(batch.progress)), reverse_gradient(ft, lam(batch.progress))
        return margin_disparity(probs(batch.outputs_source), adversary(fs, training=reverse),
                                probs(batch.outputs_target), adversary(ft, training=reverse), section.margin)

    return LossComposition(
        # the adversary minimises -D (maximises the disparity); the reversal makes the features minimise D
        terms=[LossTerm("mdd_loss", lambda batch: -disparity(batch, reverse=True), section.trade_off, player="main")],
        modules=[adversary],
        metrics={"mdd_discrepancy": lambda batch: ops.stop_gradient(disparity(batch, reverse=False)),
                 "mdd_lambda": lambda batch: lam(batch.progress)},
        aligned_at=section.feature_layer,
    )
