"""The ``sweep`` section: which spec keys a sweep varies and how Ray Tune runs its trials (no TensorFlow, no Ray).

    sweep:
      grid:                                  # every combination (Ray Tune's grid_search)
        training.stages.0.optimizer.learning_rate: [0.01, 0.001]
      search:                                # or also: sampled by Ray Tune's searchers
        kind: random                         # random (BasicVariantGenerator) | bayesian (OptunaSearch, TPE)
        samples: 8
        space: {training.stages.0.epochs: {randint: [1, 4]}}
      metric: test/accuracy                  # default: the runs' headline metric
      mode: max
      max_concurrent: 2                      # trials at once (default: as many as the CPUs allow)
      cpus_per_trial: 1                      # Ray resources per trial; TensorFlow gets as many threads
      address: auto                          # a running Ray cluster (``ray start --head``); default: a local one

A key is a dotted spec path, as ``--set`` takes it. Each trial is the spec with
its values set (the ``sweep`` section itself removed); every trial must validate,
and an error names ``sweep.grid.<key>`` or ``sweep.search.space.<key>``.
"""

from __future__ import annotations

import itertools
from typing import Any, Literal, Optional, Union

from pydantic import Field, model_validator

from ._sections import SpecModel

__all__ = ["SweepSpec", "SearchSpec", "Distribution", "grid_points", "probe_points"]

MAX_TRIALS = 10_000


class Distribution(SpecModel):
    """One key's values in a search space: give exactly one of uniform, loguniform, randint, choice."""

    uniform: Optional[list[float]] = Field(None, min_length=2, max_length=2, description="[low, high]: a float drawn uniformly between them.")
    loguniform: Optional[list[float]] = Field(None, min_length=2, max_length=2, description="[low, high] (low above 0): a float drawn log-uniformly between them (learning rates).")
    randint: Optional[list[int]] = Field(None, min_length=2, max_length=2, description="[low, high]: an integer from low to high, high excluded (Ray Tune's randint).")
    choice: Optional[list[Any]] = Field(None, min_length=1, description="One of these values (any YAML value: a number, a list of surgery sections, ...).")

    @model_validator(mode="after")
    def _one(self) -> "Distribution":
        given = [k for k in ("uniform", "loguniform", "randint", "choice") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of uniform, loguniform, randint, choice (got {', '.join(given) or 'none'})")
        bounds = self.bounds
        if bounds is not None and not bounds[0] < bounds[1]:
            raise ValueError(f"{given[0]}: low must be below high (got {list(bounds)})")
        if self.loguniform is not None and self.loguniform[0] <= 0:
            raise ValueError("loguniform: low must be above 0")
        return self

    @property
    def bounds(self) -> Optional[tuple[Any, Any]]:
        given = self.uniform or self.loguniform or self.randint
        return None if given is None else (given[0], given[1])

    @property
    def sampler(self) -> str:
        return next(k for k in ("uniform", "loguniform", "randint", "choice") if getattr(self, k) is not None)

    def probes(self) -> list[Any]:
        """The values a trial can take at the edges: both bounds (randint: its last integer), or every choice."""
        if self.choice is not None:
            return list(self.choice)
        low, high = self.bounds  # type: ignore[misc]
        return [low, high - 1 if self.randint is not None else high]


class SearchSpec(SpecModel):
    """Sampled trials: Ray Tune's random search, or Bayesian optimisation through its Optuna searcher."""

    kind: Literal["random", "bayesian"] = Field(..., description="random: Ray Tune's BasicVariantGenerator; bayesian: ray.tune.search.optuna.OptunaSearch (TPE).")
    samples: int = Field(..., ge=1, le=MAX_TRIALS, description="How many trials to sample (random: for each grid point).")
    seed: int = Field(0, ge=0, le=2**32 - 1, description="The searcher's seed: the same seed samples the same trials, so a rerun skips the finished ones.")
    space: dict[str, Distribution] = Field(..., min_length=1, description="Dotted spec key -> its distribution.")


class SweepSpec(SpecModel):
    """A sweep over spec keys (``adaptkit sweep``): every trial an ordinary run directory under ``<output_dir>/<name>-sweep/``."""

    grid: dict[str, list[Any]] = Field(default_factory=dict, description="Dotted spec key -> the values to try; every combination is a trial.")
    search: Optional[SearchSpec] = Field(None, description="Trials sampled by a Ray Tune searcher (random or bayesian).")
    metric: Optional[str] = Field(None, min_length=1, description="The metrics.json key the leaderboard ranks by and the searcher optimises (default: the headline metric).")
    mode: Literal["max", "min"] = Field("max", description="Whether a higher (max) or lower (min) metric is better.")
    max_concurrent: Optional[int] = Field(None, ge=1, le=1024, description="Trials run at once (default: as many as the CPUs hold at cpus_per_trial each).")
    cpus_per_trial: Union[int, float] = Field(1, gt=0, le=1024, description="CPUs Ray reserves per trial; the trial's TensorFlow uses that many threads (at least 1).")
    gpus_per_trial: Union[int, float] = Field(0, ge=0, le=64, description="GPUs Ray reserves per trial (on a cluster with GPUs).")
    address: Optional[str] = Field(None, min_length=1, description="A running Ray cluster: 'auto' (the one `ray start --head` started on this machine) or 'host:port'; default: start a local one.")

    @model_validator(mode="after")
    def _something(self) -> "SweepSpec":
        if not self.grid and self.search is None:
            raise ValueError("give a grid, a search, or both")
        for key, values in self.grid.items():
            if not values:
                raise ValueError(f"grid.{key}: give at least one value")
        if self.search is not None and self.search.kind == "bayesian" and self.grid:
            raise ValueError("a bayesian search takes no grid: give the grid's values as a choice in search.space")
        if self.search is not None and set(self.grid) & set(self.search.space):
            raise ValueError(f"{sorted(set(self.grid) & set(self.search.space))[0]}: in both grid and search.space")
        trials = 1
        for values in self.grid.values():
            trials *= len(values)
        if trials * (self.search.samples if self.search else 1) > MAX_TRIALS:
            raise ValueError(f"more than {MAX_TRIALS:,} trials")
        return self


def grid_points(sweep: SweepSpec) -> list[dict[str, Any]]:
    """Every combination of the grid's values, in order (the last key varies fastest)."""
    keys = list(sweep.grid)
    return [dict(zip(keys, combo)) for combo in itertools.product(*(sweep.grid[k] for k in keys))]


def probe_points(sweep: SweepSpec) -> list[tuple[str, str, dict[str, Any]]]:
    """``(where, key, overrides)`` that validation tries: each value of each key (the other keys at
    their first value), so a bad value is found without building every combination."""
    first: dict[str, Any] = {k: v[0] for k, v in sweep.grid.items()}
    space = sweep.search.space if sweep.search is not None else {}
    first.update({k: d.probes()[0] for k, d in space.items()})
    out = []
    for key, values in [*sweep.grid.items(), *((k, d.probes()) for k, d in space.items())]:
        where = f"sweep.grid.{key}" if key in sweep.grid else f"sweep.search.space.{key}"
        for value in values:
            out.append((where, key, {**first, key: value}))
    return out
