"""Resume replay: bring the model of an interrupted run back to where its completed stages left it.

The weights come from the last completed stage's checkpoint; what is not in
the weights — which layers are trainable after each stage's surgery and
gradual unfreezing — is replayed here, stage by stage.
"""

from __future__ import annotations

import logging

import numpy as np

from ._arrays import read_arrays, write_arrays

from ._errors import SpecError
from ._stages import compose_losses, gradual_unfreezing, stage_name
from ._state import RunState

__all__ = ["replay_stage", "restore_weights", "save_weighting"]

log = logging.getLogger("adaptkit")


def replay_stage(run: RunState, s: int) -> None:
    """Stage ``s`` finished in the interrupted run: leave the model as it left it (its surgery is applied)."""
    stage = run.spec.training.stages[s]
    name = stage_name(run.spec, s)
    if stage.gradual_unfreezing is not None:  # leave the groups as the stage left them
        section = stage.gradual_unfreezing
        ran = max(1, sum(1 for row in run.history if row["stage"] == s + 1))  # early stopping may end sooner
        unfreezer = gradual_unfreezing(run, s)
        unfreezer.unfreeze(min(len(unfreezer.groups), section.start + (ran - 1) // section.every))
    for section, composed in zip(stage.losses, compose_losses(run, s)):
        if composed.finalize is not None:
            raise SpecError(
                "--resume",
                f"stage {s + 1} ({name}) finished with {section.kind!r}, whose adapted model is not "
                "checkpointed; run the spec again without --resume",
            )
    log.info("stage %d (%s): done in the interrupted run", s + 1, name)


def _weighting_variables(run: RunState) -> list:
    return list(run.weighting.variables()) + list(run.weighting.state()) if run.weighting is not None else []


def save_weighting(run: RunState, s: int) -> None:
    """Checkpoint the task-weighting strategy's variables (log-variances, DWA/GradNorm weights)
    beside stage ``s``'s weights: they live outside the model."""
    variables = _weighting_variables(run)
    if variables:
        write_arrays(run.checkpoints.weights(s).with_suffix(".weighting.npz"),
                     {str(i): np.asarray(v) for i, v in enumerate(variables)})


def restore_weights(run: RunState, completed: int) -> None:
    """Load the checkpoint written when stage ``completed`` (1-based) finished."""
    path = run.checkpoints.weights(completed - 1)
    run.parts.model.load_weights(path)
    variables = _weighting_variables(run)
    if variables and path.with_suffix(".weighting.npz").is_file():
        arrays = read_arrays(path.with_suffix(".weighting.npz"), "--resume")
        for i, variable in enumerate(variables):
            variable.assign(arrays[str(i)])
