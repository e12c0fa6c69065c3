"""adaptkit's multi-task plugin: how the losses of several tasks on one shared trunk combine.

Loss-based strategies (equal, static, uncertainty, dwa) weight the task losses;
gradient-based ones (gradnorm, pcgrad, mgda) combine each task's gradient of the
shared variables inside the training step. TensorFlow is imported only inside
the hook that builds a strategy.
"""

from __future__ import annotations

from adaptkit import hookimpl

from . import sections as S


@hookimpl
def adaptkit_sections():
    return S.SECTIONS


@hookimpl
def adaptkit_build_weighting(section, weights, context):
    from . import gradients, losses

    builders = {
        S.Equal: losses.Equal,
        S.Static: losses.Static,
        S.Uncertainty: losses.Uncertainty,
        S.DWA: losses.DWA,
        S.GradNorm: gradients.GradNorm,
        S.PCGrad: gradients.PCGrad,
        S.MGDA: gradients.MGDA,
    }
    build = builders.get(type(section))
    return None if build is None else build(section, weights, context)
