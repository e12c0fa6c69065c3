"""ADDA, WDGRL, MMD and CORAL as adaptkit loss compositions."""

from __future__ import annotations

import math
from typing import Callable

import keras
import numpy as np
from keras import ops

from adaptkit import (
    LossComposition,
    LossTerm,
    ModelParts,
    Player,
    RunContext,
    SpecError,
    StepBatch,
    build_optimizer,
    feature_dim,
    feature_extractor,
    flatten,
    layer_names,
    make_trainable,
    model_feature_extractor,
    progress_weight,
    stream_features,
)

from .layers import bce_logits, coral, critic_network, gradient_penalty, mmd
from .sections import AddaLoss, CoralLoss, MmdLoss, WdgrlLoss

__all__ = ["compose_adda", "compose_wdgrl", "compose_discrepancy", "clone_encoder"]


def _player_optimizer(section, context: RunContext, name: str) -> keras.optimizers.Optimizer:
    """The section's own optimizer (``section.optimizer``) for the player ``name``."""
    spec = section.optimizer
    return build_optimizer(spec, spec.learning_rate, name=name, context=context.at(context.where + ".optimizer"))


def _set_trainable(model) -> None:
    """Every layer trainable, except BatchNormalization layers, which keep the source encoder's choice."""
    batch_norm = [(layer, layer.trainable) for layer in _all_layers(model)
                  if isinstance(layer, keras.layers.BatchNormalization)]
    for layer in [model] + _all_layers(model):
        make_trainable(layer)  # LoRA's frozen base kernels stay frozen
    for layer, flag in batch_norm:
        layer.trainable = flag


def _all_layers(model) -> list:
    out = []
    for layer in getattr(model, "layers", []):
        out.append(layer)
        out.extend(_all_layers(layer))
    return out


def clone_encoder(encoder: keras.Model, name: str, trainable_all: bool = True) -> keras.Model:
    """A copy of ``encoder`` (nested models too) with its own variables, holding the same values."""
    clone = keras.models.clone_model(encoder, recursive=True)
    clone.set_weights(encoder.get_weights())
    if trainable_all:
        _set_trainable(clone)
    clone.name = name
    return clone


def _critic(spec, dim: int, seed: int, name: str) -> keras.Model:
    return critic_network(dim, spec.hidden, spec.activation, spec.dropout, seed=seed, name=name)


def compose_adda(section: AddaLoss, parts: ModelParts, context: RunContext) -> LossComposition:
    """Target encoder (clone of the source encoder) vs. a discriminator with its own optimizer."""
    target_encoder = clone_encoder(parts.encoder, "encoder", trainable_all=section.target_trainable == "all")
    head = _head_part(parts, section.head_layer, context.where + ".head_layer")
    if head is None:
        dim = feature_dim(parts.encoder, None)
    else:
        f = np.zeros((1,) + tuple(int(d) for d in parts.classifier.input.shape[1:]), "float32")
        dim = int(math.prod(int(d) for d in tuple(head(f, training=False).shape)[1:]))
    disc = _critic(section.discriminator, dim, context.seed + 2003, "adda_discriminator")
    wasserstein = section.objective == "wasserstein"
    seed = keras.random.SeedGenerator(context.seed + 3001)

    def aligned(features, training=True):
        return flatten(features if head is None else head(features, training=training))

    def target_features(batch: StepBatch):
        return aligned(target_encoder(batch.x_target, training=True))

    def source_features(batch: StepBatch):
        return ops.stop_gradient(aligned(batch.features_source))

    def disc_loss(batch: StepBatch):
        fs = source_features(batch)
        ft = ops.stop_gradient(target_features(batch))
        ds, dt = disc(fs, training=True), disc(ft, training=True)
        if wasserstein:
            w = ops.mean(ds) - ops.mean(dt)
            return -w + section.gradient_penalty * gradient_penalty(disc, fs, ft, seed=seed)
        return 0.5 * (bce_logits(1.0, ds) + bce_logits(0.0, dt))

    def encoder_loss(batch: StepBatch):
        dt = disc(target_features(batch), training=True)
        return -ops.mean(dt) if wasserstein else bce_logits(1.0, dt)

    def disc_metric(batch: StepBatch):
        ds = disc(aligned(batch.features_source, training=False), training=False)
        dt = disc(aligned(target_encoder(batch.x_target, training=False), training=False), training=False)
        if wasserstein:
            return ops.mean(ds) - ops.mean(dt)
        right = ops.concatenate([ops.cast(ds > 0, "float32"), ops.cast(dt <= 0, "float32")], axis=0)
        return ops.mean(right)

    def finalize(final_parts: ModelParts) -> keras.Model:
        inputs = keras.Input(shape=tuple(final_parts.encoder.input.shape[1:]), name="input")
        outputs = final_parts.classifier(target_encoder(inputs))
        return keras.Model(inputs, outputs, name="adda_adapted")

    player = Player(
        name="adda_discriminator",
        variables=lambda: disc.trainable_variables,
        optimizer=_player_optimizer(section, context, "adda_discriminator_optimizer"),
        steps=section.steps,
    )
    return LossComposition(
        terms=[
            LossTerm("adda_discriminator_loss", disc_loss, 1.0, player=player.name),
            LossTerm("adda_encoder_loss", encoder_loss, section.weight, player="main"),
        ],
        players=[player],
        modules=[target_encoder, disc],
        metrics={("adda_wasserstein" if wasserstein else "adda_domain_accuracy"): disc_metric},
        finalize=finalize,
        freeze_main=True,
        aligned_at=section.head_layer,
    )




def _head_part(parts: ModelParts, name, where: str):
    """``None``, or a callable ``features -> output of the head's layer name`` (the head stays frozen)."""
    if name is None:
        return None
    try:
        return feature_extractor(parts.classifier, name, where)
    except SpecError as exc:
        names = ", ".join(layer_names(parts.classifier))
        raise SpecError(where, f"the head has no layer {name!r} (layers: {names})") from exc


def compose_wdgrl(section: WdgrlLoss, parts: ModelParts, context: RunContext) -> LossComposition:
    """The shared encoder minimises the critic's Wasserstein estimate; the critic maximises it (with GP)."""
    extract = model_feature_extractor(parts, section.feature_layer, context.where + ".feature_layer")
    dim = feature_dim(parts.encoder, extract)
    critic = _critic(section.critic, dim, context.seed + 2003, "wdgrl_critic")
    seed = keras.random.SeedGenerator(context.seed + 3001)

    def critic_loss(batch: StepBatch):
        fs = ops.stop_gradient(stream_features(extract, batch, "source"))
        ft = ops.stop_gradient(stream_features(extract, batch, "target"))
        w = ops.mean(critic(fs, training=True)) - ops.mean(critic(ft, training=True))
        return -w + section.gradient_penalty * gradient_penalty(critic, fs, ft, seed=seed)

    def wasserstein(batch: StepBatch):
        fs, ft = stream_features(extract, batch, "source"), stream_features(extract, batch, "target")
        return ops.mean(critic(fs, training=True)) - ops.mean(critic(ft, training=True))

    player = Player(
        name="wdgrl_critic",
        variables=lambda: critic.trainable_variables,
        optimizer=_player_optimizer(section, context, "wdgrl_critic_optimizer"),
        steps=section.steps,
    )
    return LossComposition(
        terms=[
            LossTerm("wdgrl_critic_loss", critic_loss, 1.0, player=player.name),
            LossTerm("wdgrl_encoder_loss", wasserstein, progress_weight(section), player="main"),
        ],
        players=[player],
        modules=[critic],
        metrics={"wdgrl_wasserstein": wasserstein},
        aligned_at=section.feature_layer,
    )


def compose_discrepancy(section: MmdLoss | CoralLoss, parts: ModelParts, context: RunContext) -> LossComposition:
    """One term on the main player: MMD or CORAL between source and target features."""
    extract = model_feature_extractor(parts, section.feature_layer, context.where + ".feature_layer")
    if isinstance(section, MmdLoss):

        def distance(fs, ft):
            return mmd(fs, ft, section.kernels, section.kernel_mul, section.bandwidth)

    else:
        distance = coral

    def term(batch: StepBatch):
        return distance(stream_features(extract, batch, "source"), stream_features(extract, batch, "target"))

    return LossComposition(
        terms=[LossTerm(f"{section.kind}_loss", term, progress_weight(section), player="main")], aligned_at=section.feature_layer
    )
