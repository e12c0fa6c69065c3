"""adaptkit's built-in plugin: array data, generic source models (dense, conv, a saved
``.keras`` file), layer surgery (freeze, unfreeze, truncate, LoRA), classifier and
regression heads, learning-rate schedules and optimizers, label-free validators (entropy,
IM, SND, DEV), test metrics (accuracy, loss, F1, AUC, MAE, ...), transferability scores (LogME, LEEP,
H-score, linear probe, kNN), the proxy A-distance, and
TensorBoard logs.

It registers through the ``adaptkit`` entry-point group like any third-party
plugin. TensorFlow is imported only inside the hooks that build things. The host
calls a building hook only with this plugin's own sections, so each hook just
picks the builder for ``type(section)``.
"""

from __future__ import annotations

from adaptkit import hookimpl

from . import optim_sections as O
from . import sections as S


@hookimpl
def adaptkit_sections():
    return S.SECTIONS


@hookimpl
def adaptkit_load_data(section, context):
    from .data import load_arrays

    return load_arrays(section, context)


@hookimpl
def adaptkit_input_preprocessing(section, input_shape, context):
    if not isinstance(section, S.ArraysData):
        return None
    from .data import input_preprocessing

    return input_preprocessing(section, input_shape)


@hookimpl
def adaptkit_load_source(section, input_shape, context):
    from . import models

    builders = {S.MLPSource: models.mlp, S.ConvNetSource: models.convnet, S.KerasFileSource: models.keras_file}
    build = builders.get(type(section))
    return None if build is None else build(section, input_shape, context)


@hookimpl
def adaptkit_apply_surgery(section, model, context):
    from . import lora, surgery

    ops = {S.Freeze: surgery.freeze, S.Unfreeze: surgery.unfreeze, S.Truncate: surgery.truncate, S.LoRA: lora.lora}
    op = ops.get(type(section))
    return None if op is None else op(section, model, context)


@hookimpl
def adaptkit_attach_head(section, features, task, context):
    from . import heads

    builders = {S.ClassifierHead: heads.classifier, S.RegressionHead: heads.regression}
    build = builders.get(type(section))
    return None if build is None else build(section, features, task, context)


@hookimpl
def adaptkit_evaluate(spec, parts, data, context, before, aligned_at):
    from .evaluate import proxy_a_distances

    return proxy_a_distances(parts, data, before, seed=spec.seed, aligned_at=aligned_at) or None


@hookimpl
def adaptkit_build_metric(section, context):
    from .metrics import build_metric

    return build_metric(section)


@hookimpl
def adaptkit_build_score(section, context):
    from .scores import build_score

    return build_score(section)


@hookimpl
def adaptkit_stage_callbacks(section, stage, context):
    from .tensorboard import tensorboard_callbacks

    return tensorboard_callbacks(section, stage, context.where)


@hookimpl
def adaptkit_build_schedule(section, learning_rate, total_steps, context):
    if not isinstance(section, tuple(O.SCHEDULES)):
        return None
    from .schedules import build_schedule

    return build_schedule(section, learning_rate, total_steps)


@hookimpl
def adaptkit_build_optimizer(section, learning_rate, name, context):
    if not isinstance(section, tuple(O.OPTIMIZERS)):
        return None
    from .optimizers import build_optimizer

    return build_optimizer(section, learning_rate, name)


@hookimpl
def adaptkit_build_validator(section, context):
    from .validators import build_validator

    return build_validator(section, seed=context.seed)


@hookimpl
def adaptkit_keras_objects():
    from .schedules import InversePowerSchedule, TriangularSchedule

    return {"adaptkit>TriangularSchedule": TriangularSchedule, "adaptkit>InversePowerSchedule": InversePowerSchedule}


# LoRA's parts the host calls generically (adaptkit_core/lora.py): every LoRA-enabled layer,
# whichever plugin enabled it.


@hookimpl
def adaptkit_after_trainable(layer):
    from .lora import keep_frozen

    keep_frozen(layer)


@hookimpl
def adaptkit_baseline_config(config):
    from .lora import baseline_config

    return baseline_config(config)


@hookimpl
def adaptkit_save_artifacts(model, run_dir):
    from .lora import save_adapters

    return save_adapters(model, run_dir)
