"""keras-tuner helpers shared by the tuning questions (hw6.q4, hw14.q4).

A tuner made here logs each trial's hyper-parameters, keeps its state in
``directory/project`` (so an interrupted search resumes instead of starting over)
and saves every trial's history beside it, so a resumed search still has its curves.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from dlgrade.kit.keras_fit import history_dict

SANDBOX_SAFE = True
HISTORY_FILE = "trial_histories.json"


def make_tuner(kind: str, hypermodel: Callable, directory: Path, project: str, max_trials: int, seed: int,
               log: Callable[[str], None] = print, describe: Callable[[dict], dict] = dict, overwrite: bool = False):
    """A ``kind`` (``"random"`` or ``"bayesian"``) search on ``val_accuracy`` whose state lives in ``directory/project``.

    With ``overwrite=False`` a tuner built on an existing folder reloads the finished trials
    and only runs the missing ones; ``tuner.trials_run`` lists the trials this tuner trained.
    ``describe`` turns a trial's hyper-parameter values into what the log line shows.
    """
    import keras_tuner as kt

    base = {"random": kt.RandomSearch, "bayesian": kt.BayesianOptimization}[kind]

    class LoggedSearch(base):
        def run_trial(self, trial, *args, **kwargs):
            shown = describe(trial.hyperparameters.values)
            log(f"trial {int(trial.trial_id) + 1}/{max_trials}: " + ", ".join(f"{k}={v}" for k, v in shown.items()))
            self.trials_run.append(trial.trial_id)
            try:
                histories = super().run_trial(trial, *args, **kwargs)
            except Exception as e:  # keras-tuner records a failed trial and goes on; keep the first error to show
                if self.first_error is None:
                    self.first_error = e
                raise
            path = Path(self.project_dir) / HISTORY_FILE
            saved = json.loads(path.read_text()) if path.is_file() else {}
            first = histories[0] if isinstance(histories, list) else histories
            saved[str(trial.trial_id)] = history_dict(first)
            path.write_text(json.dumps(saved))
            return histories

    tuner = LoggedSearch(hypermodel, objective="val_accuracy", max_trials=max_trials, seed=seed,
                         directory=str(directory), project_name=project, overwrite=overwrite)
    tuner.trials_run = []
    tuner.first_error = None
    return tuner


def trial_histories(tuner) -> dict[str, dict[str, list[float]]]:
    """Trial id -> the history saved by :func:`make_tuner`."""
    path = Path(tuner.project_dir) / HISTORY_FILE
    return json.loads(path.read_text()) if path.is_file() else {}


def finished_trials(tuner) -> list:
    """All trials in id order; when none produced a score (every build or fit failed), raises the first trial's own
    error (so the student sees what their hypermodel raised, and where), else a RuntimeError."""
    trials = sorted(tuner.oracle.trials.values(), key=lambda t: int(t.trial_id))
    if not any(t.score is not None for t in trials):
        if getattr(tuner, "first_error", None) is not None:
            raise tuner.first_error
        raise RuntimeError(f"keras-tuner finished {len(trials)} trial(s) and none produced a score; "
                           f"see the trial logs in {tuner.project_dir}")
    return trials


def find_int(space: list[dict], low, high, step) -> str | None:
    """The name of an integer hyper-parameter of ``space`` (configs, as keras-tuner gives them) ranging over
    ``low..high`` in steps of ``step``, whatever it is called; None when there is none."""
    for p in space:
        if p.get("class_name") == "Int" and (p.get("min_value"), p.get("max_value"), p.get("step") or 1) == (low, high, step):
            return str(p.get("name"))
    return None


def find_choice(space: list[dict], values) -> str | None:
    """The name of a choice hyper-parameter of ``space`` among exactly ``values`` (any order), whatever it is called."""
    want = sorted(map(str, values))
    for p in space:
        if p.get("class_name") == "Choice" and sorted(map(str, p.get("values", []))) == want:
            return str(p.get("name"))
    return None


def space_configs(hp) -> list[dict]:
    """A HyperParameters' declared space as plain configs (with the class name), for the trusted side."""
    return [{**{k: v for k, v in p.get_config().items() if k != "conditions"}, "class_name": type(p).__name__}
            for p in hp.space]
