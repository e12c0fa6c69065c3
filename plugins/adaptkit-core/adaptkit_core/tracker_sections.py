"""Spec section of the core plugin's tracker: TensorBoard logs (pydantic only: no TensorFlow here)."""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field

from adaptkit import TrackerSection

__all__ = ["TensorBoardTracker", "TRACKERS"]


class TensorBoardTracker(TrackerSection):
    """Keras' TensorBoard callback in every stage and the baseline, logging into the run directory's
    ``tensorboard/<stage>/`` (``1-head``, ``2-finetune``, ``baseline``), epochs counted over the run."""

    kind: Literal["tensorboard"]
    update_freq: Union[Literal["epoch"], Annotated[int, Field(ge=1)]] = Field(
        "epoch", description="'epoch', or every N training batches as well (Keras' update_freq)."
    )
    histogram_freq: int = Field(0, ge=0, description="Weight histograms every N epochs (0: none).")
    write_graph: bool = Field(False, description="Also write the model's graph (large for big models).")


TRACKERS = [TensorBoardTracker]
