"""Core's TensorBoard tracker: Keras' callback, writing into the run directory, epochs counted over the run."""

from __future__ import annotations

import importlib.util

import keras

from adaptkit import SpecError

__all__ = ["tensorboard_callbacks"]


class RunTensorBoard(keras.callbacks.TensorBoard):
    """``keras.callbacks.TensorBoard`` whose epoch axis is the run's: a stage's epoch ``e`` is logged
    at step ``first_epoch + e``, so the stages' curves follow each other in TensorBoard."""

    def __init__(self, first_epoch: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.first_epoch = first_epoch

    def on_epoch_begin(self, epoch, logs=None):
        super().on_epoch_begin(epoch + self.first_epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch + self.first_epoch, logs)


def tensorboard_callbacks(section, stage, where: str) -> list:
    """One callback logging into ``<run_dir>/tensorboard/<stage.folder>``; none without a run directory."""
    if importlib.util.find_spec("tensorboard") is None:  # TensorFlow writes summaries through it
        raise SpecError(where, "'tensorboard' needs the tensorboard package, which is not installed: pip install tensorboard")
    if stage.run_dir is None:
        return []
    return [
        RunTensorBoard(
            stage.first_epoch,
            log_dir=str(stage.run_dir / "tensorboard" / stage.folder),
            update_freq=section.update_freq,
            histogram_freq=section.histogram_freq,
            write_graph=section.write_graph,
        )
    ]
