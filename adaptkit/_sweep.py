"""``adaptkit sweep``: the trials of a ``sweep`` section run through Ray Tune (its scheduler, its searchers), then the leaderboard.

Ray is imported here, inside :func:`run_sweep`, never by ``import adaptkit``.
Ray Tune places the trials (``cpus_per_trial`` each, at most
``max_concurrent`` at once) on a local Ray instance or on the cluster at
``sweep.address``; the grid is its ``grid_search``, random search its
``BasicVariantGenerator``, Bayesian search its ``OptunaSearch`` (TPE). Each trial
runs :func:`adaptkit._sweep_trial.run_trial` in a worker; this module only
builds the parameter space, starts Tune and hands the outcome to
:mod:`adaptkit._leaderboard`.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any, Callable, Optional

from ._errors import AdaptkitError, SpecError
from ._sweep_plan import SweepPlan
from ._sweep_spec import Distribution, SweepSpec

__all__ = ["run_sweep", "sweep_folder", "TrialOutcome"]

log = logging.getLogger("adaptkit")


def sweep_folder(spec: Any, output: Optional[Path]) -> Path:
    """``<output or output_dir>/<name>-sweep``, absolute (Ray's workers run elsewhere)."""
    return (Path(output or spec.output_dir) / f"{spec.name}-sweep").resolve()


def make_plan(spec: Any, spec_path: Path, overrides: list[str], output: Optional[Path], trust_code: bool) -> SweepPlan:
    sweep: SweepSpec = spec.sweep
    space = sweep.search.space if sweep.search is not None else {}
    keys = [*sweep.grid, *space]
    values = {k: list(v) for k, v in sweep.grid.items()}
    values.update({k: list(d.choice) for k, d in space.items() if d.choice is not None})
    return SweepPlan(
        spec_path=str(Path(spec_path).resolve()), overrides=list(overrides), keys=keys, values=values,
        folder=str(sweep_folder(spec, output)), metric=sweep.metric, mode=sweep.mode,
        cpus=float(sweep.cpus_per_trial), trust_code=trust_code, names={k: f"p{i}" for i, k in enumerate(keys)},
    )


def _sampler(tune: Any, dist: Distribution) -> Any:
    """A search-space distribution as Ray Tune's sampler (a choice samples the index of its value)."""
    if dist.choice is not None:
        return tune.choice(list(range(len(dist.choice))))
    return getattr(tune, dist.sampler)(*dist.bounds)  # tune.uniform / loguniform / randint


def _tune_config(tune: Any, sweep: SweepSpec, plan: SweepPlan) -> tuple[dict[str, Any], Any]:
    """Ray Tune's param_space and TuneConfig: grid_search over value indices, samplers for the search space."""
    space: dict[str, Any] = {plan.names[k]: tune.grid_search(list(range(len(v)))) for k, v in sweep.grid.items()}
    search, searcher = sweep.search, None
    if search is not None:
        space.update({plan.names[k]: _sampler(tune, d) for k, d in search.space.items()})
        if search.kind == "bayesian":
            from ray.tune.search.optuna import OptunaSearch

            searcher = OptunaSearch(seed=search.seed)
        else:
            from ray.tune.search.basic_variant import BasicVariantGenerator

            searcher = BasicVariantGenerator(random_state=search.seed)
    config = tune.TuneConfig(
        metric="score", mode=sweep.mode, search_alg=searcher, num_samples=search.samples if search else 1,
        max_concurrent_trials=sweep.max_concurrent,
        reuse_actors=True,  # a worker keeps its TensorFlow between trials (each run sets its seeds and policies)
    )
    return space, config


class TrialOutcome:
    """What Ray Tune says of one trial: its overrides, and its report or its error."""

    def __init__(self, overrides: dict[str, Any], report: Optional[dict[str, Any]], error: Optional[str]):
        self.overrides, self.report, self.error = overrides, report, error


def _one_line(error: BaseException) -> str:
    """The adaptkit error inside Ray's wrapping (``where: message``), else the error's last line."""
    seen: Any = error
    for _ in range(6):
        if isinstance(seen, AdaptkitError):
            return str(seen)
        seen = getattr(seen, "cause", None) or seen.__cause__
        if seen is None:
            break
    lines = [line for line in str(error).splitlines() if line.strip()]
    return lines[-1].strip() if lines else type(error).__name__


def _echo_callback(tune: Any, echo: Callable[[str], None], plan: SweepPlan) -> Any:
    class Echo(tune.Callback):
        """One line per finished trial on the console (Ray's own table is off)."""

        def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict, **info: Any) -> None:
            metric = plan.metric or "headline"
            how = "finished before, skipped" if result.get("skipped") else f"{result.get('seconds', 0):.0f} s"
            echo(f"sweep: {result.get('trial')}: {metric} {result.get('score'):.4f} ({how})")

        def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            echo(f"sweep: a trial failed: {plan.trial_overrides(trial.config)}")

    return Echo()


def _address(sweep: SweepSpec) -> str:
    """``sweep.address``, else ``RAY_ADDRESS`` (set by ``ray job submit``), else a Ray of our own ("local"):
    never a cluster that ``ray.init()`` would find on the machine by itself."""
    return sweep.address or os.environ.get("RAY_ADDRESS") or "local"


def _start_ray(sweep: SweepSpec) -> Any:
    import ray

    os.environ.setdefault("RAY_CHDIR_TO_TRIAL_DIR", "0")
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    for attempt in (1, 2):  # a loaded machine can miss Ray's fixed 30 s start-up wait once
        if ray.is_initialized():
            break
        try:
            ray.init(address=_address(sweep), include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING,
                     configure_logging=True)
        except ConnectionError as exc:
            raise SpecError("sweep.address", f"no Ray cluster at {sweep.address!r}: {exc}") from None
        except Exception as exc:  # Ray's own start-up failures are plain Exceptions
            ray.shutdown()
            if attempt == 2:
                where = "sweep.address" if sweep.address else "sweep"
                raise AdaptkitError(where, f"Ray did not start: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    return ray


def run_sweep(
    spec: Any, spec_path: Path, overrides: list[str], output: Optional[Path], echo: Callable[[str], None], trust_code: bool = False
) -> tuple[SweepPlan, list[TrialOutcome], float]:
    """Run every trial of ``spec.sweep`` through Ray Tune: (the plan, an outcome per trial, the wall time)."""
    started = time.perf_counter()
    sweep: SweepSpec = spec.sweep
    plan = make_plan(spec, spec_path, overrides, output, trust_code)
    Path(plan.folder).mkdir(parents=True, exist_ok=True)
    ray = _start_ray(sweep)
    from ray import tune

    from ._sweep_trial import run_trial

    space, config = _tune_config(tune, sweep, plan)
    trainable = tune.with_resources(tune.with_parameters(run_trial, plan=plan), {"cpu": sweep.cpus_per_trial, "gpu": sweep.gpus_per_trial})
    run_config = tune.RunConfig(
        name=f"tune-{time.strftime('%Y%m%d-%H%M%S')}", storage_path=str(Path(plan.folder) / ".tune"), verbose=0,
        callbacks=[_echo_callback(tune, echo, plan)], failure_config=tune.FailureConfig(max_failures=0),
    )
    try:
        grid = tune.Tuner(trainable, param_space=space, tune_config=config, run_config=run_config).fit()
    finally:
        if sweep.address is None:
            ray.shutdown()
    outcomes = []
    for result in grid:
        error = _one_line(result.error) if result.error is not None else None
        report = result.metrics if result.metrics and "trial" in result.metrics else None
        outcomes.append(TrialOutcome(plan.trial_overrides(result.config), report, error))
    return plan, outcomes, round(time.perf_counter() - started, 2)
