"""Spec sections of the GAN-alignment plugin (pydantic only: no TensorFlow here)."""

from __future__ import annotations

from typing import ClassVar, Literal, Optional

from pydantic import Field, PositiveInt

from adaptkit import FeatureAlignmentLoss, LossSection, SpecModel, section_of

__all__ = ["CriticSpec", "PlayerOptimizer", "CriticOptimizer", "AddaLoss", "WdgrlLoss", "MmdLoss", "CoralLoss", "SECTIONS"]


class CriticSpec(SpecModel):
    """The feature discriminator (or Wasserstein critic): Dense layers, then one output."""

    hidden: list[PositiveInt] = Field([256, 256], description="Units of the hidden Dense layers.")
    activation: str = Field("relu", description="Keras activation name of the hidden layers.")
    dropout: float = Field(0.0, ge=0, lt=1, description="Dropout after each hidden layer.")


PlayerOptimizer = section_of("optimizer", beta_1=0.5)
"""A discriminator's own optimizer (a separate player, not the stage's): any optimizer kind
(``{name: adam, learning_rate: 2.0e-4}``); adam's beta_1 defaults to 0.5 here (GANs like it)."""

CriticOptimizer = section_of("optimizer", beta_1=0.5, beta_2=0.9)
"""WDGRL's critic optimizer: as :data:`PlayerOptimizer`, adam's beta_2 defaulting to 0.9 (WGAN-GP's)."""


class AddaLoss(LossSection):
    """ADDA (Tzeng et al. 2017): a target encoder, cloned from the source encoder, is trained to fool a
    feature discriminator; the source encoder and the head stay frozen. The saved model is target
    encoder + source head. Use it in a stage after the source model has been trained."""

    needs_target: ClassVar[bool] = True
    kind: Literal["adda"]
    objective: Literal["gan", "wasserstein"] = Field(
        "gan",
        description=(
            "gan: binary discriminator, inverted-label loss for the target encoder (the paper's); "
            "wasserstein: a critic with gradient penalty (WGAN-GP)."
        ),
    )
    weight: float = Field(1.0, gt=0, description="Weight of the target encoder's adversarial loss.")
    discriminator: CriticSpec = Field(CriticSpec(), description="Architecture of the discriminator / critic.")
    optimizer: PlayerOptimizer = Field(
        {}, validate_default=True, description="The discriminator's own optimizer (any optimizer name; adam at 1e-3 with beta_1 0.5 by default)."
    )
    steps: int = Field(1, ge=1, description="Discriminator updates per training step (5 is usual for wasserstein).")
    gradient_penalty: float = Field(10.0, ge=0, description="wasserstein: weight of the gradient penalty.")
    head_layer: Optional[str] = Field(
        None,
        min_length=1,
        description=(
            "Align the output of this layer of the (frozen) head instead of the encoder's output, e.g. "
            "head_dense1: the discriminator sees the head's hidden representation of the target encoder's "
            "features (gradients reach the target encoder through the frozen head). Useful when the "
            "encoder's output is a large feature map that a discriminator separates trivially."
        ),
    )
    target_trainable: Literal["all", "as_source"] = Field(
        "all",
        description="all: every layer of the target encoder trains; as_source: it keeps the source encoder's trainable flags.",
    )


class WdgrlLoss(FeatureAlignmentLoss):
    """WDGRL (Shen et al. 2018): the shared encoder minimises a Wasserstein distance between source and target
    features estimated by a critic (own optimizer, several updates per step, gradient penalty)."""

    kind: Literal["wdgrl"]
    critic: CriticSpec = Field(CriticSpec(), description="Architecture of the critic.")
    optimizer: CriticOptimizer = Field(
        {}, validate_default=True, description="The critic's own optimizer (any optimizer name; adam at 1e-3 with beta_1 0.5, beta_2 0.9 by default)."
    )
    steps: int = Field(5, ge=1, description="Critic updates per training step.")
    gradient_penalty: float = Field(10.0, ge=0, description="Weight of the gradient penalty in the critic's loss.")


class MmdLoss(FeatureAlignmentLoss):
    """Multi-kernel maximum mean discrepancy between source and target features (DAN, Long et al. 2015)."""

    kind: Literal["mmd"]
    kernels: int = Field(5, ge=1, description="Number of Gaussian kernels.")
    kernel_mul: float = Field(2.0, gt=1, description="Ratio between successive kernel bandwidths.")
    bandwidth: Optional[float] = Field(
        None,
        gt=0,
        description=(
            "Middle bandwidth (squared distance scale). Default: the batch's mean squared pairwise distance, "
            "recomputed every step."
        ),
    )


class CoralLoss(FeatureAlignmentLoss):
    """Deep CORAL (Sun & Saenko 2016): squared Frobenius distance of the feature covariances / (4 d^2)."""

    kind: Literal["coral"]


SECTIONS = [AddaLoss, WdgrlLoss, MmdLoss, CoralLoss]
