"""The tune stage of a configuration: which data sets train with tuned values, the files those
values come from, and each tune job's parameters; and the training settings of both stages,
which the tune jobs and the training jobs share."""

from __future__ import annotations

from asp.pipeline.planning.data import DataPlan


def stage0_settings(config: dict) -> dict:
    """Stage 0's training settings: mini-batch size, epochs, patience, compilation."""
    training = config["training"]
    return {k: training[k] for k in ("batch_size", "max_epochs", "patience", "compile")}


def rounds_settings(config: dict) -> dict:
    """The adaptive rounds' training settings."""
    training = config["training"]
    return {
        "batch_size": training["batch_size"],
        "max_epochs": training["round_max_epochs"],
        "patience": training["round_patience"],
        "compile": training["compile"],
    }


class TuningPlan:
    """Which data sets train with the tune stage's values, and the tune jobs."""

    def __init__(self, config: dict, data: DataPlan):
        self.config = config
        self.data = data
        self.metrics = list(config["metrics"])
        tuned = config["hyperparameters"]["source"] == "tuned"
        # A case study without hyper-parameters in the config trains with tuned values,
        # whatever hyperparameters.source says for the others.
        paper = config["hyperparameters"]["paper"]
        self.tuned_sets = [d for d in data.datasets if tuned or d not in paper]

    def tuned_path(self, dataset: str, metric: str) -> str:
        return f"results/tuned/{dataset}_{metric}.yaml"

    def is_tuned(self, dataset: str) -> bool:
        """Whether ``dataset`` trains with the tune stage's values: all data sets when
        hyperparameters.source is tuned, and a case study the config gives no values for."""
        return dataset in self.tuned_sets

    def tuned_inputs(self, dataset: str) -> list[str]:
        """The tuned values a training job depends on: one file per metric when training uses
        tuned values (new values for one metric rerun the jobs that train that metric)."""
        if not self.is_tuned(dataset):
            return []
        return [self.tuned_path(dataset, m) for m in self.metrics]

    @property
    def report_inputs(self) -> list[str]:
        """The tuned values of every present data set that trains with them."""
        return [
            self.tuned_path(d, m)
            for d in self.data.present
            if self.is_tuned(d)
            for m in self.metrics
        ]

    @property
    def figure_datasets(self) -> list[str]:
        """The studies the tuning figure draws: those training uses, else every present data
        set (the ``tuning`` target)."""
        return [d for d in self.data.present if self.is_tuned(d)] or list(self.data.present)

    def tune_job(self, dataset: str, metric: str) -> dict:
        """Everything a tune job depends on; the storage path is where an interrupted study
        resumes."""
        tuning = self.config["tuning"]
        real = dataset in self.data.real
        first = tuning["first_replicate"]
        common = self.data.job_common(dataset, "all" if real else tuning["n"])
        paper = self.config["hyperparameters"]["paper"].get(dataset, {}).get(metric)
        # Around the paper's values when the config has them, else within absolute ranges
        # (a data set the paper does not have); only the key in use enters the study's name.
        around = "factors" if paper is not None else "ranges"
        job = {
            "dataset": common.pop("dataset"),
            "metric": metric,
            "n": common.pop("n"),
            "replicates": list(range(first, first + tuning["replicates"])),
            **common,
            "paper": paper,
            "stage0": stage0_settings(self.config),
            "rounds": rounds_settings(self.config),
            "schedule": self.config["training"]["lambda_star_schedule"],
            "search": {
                k: tuning[k]
                for k in ("seed", "trials", "trials_per_batch", "startup_trials", around)
            },
            "storage": f"results/tuned/studies/{dataset}_{metric}.sqlite3",
        }
        if not real:
            sim = self.config["simulation"]
            job["simulation"] = {
                "case": sim["cases"][dataset],
                "n_inputs": sim["n_inputs"],
                "n_tasks": sim["n_tasks"],
            }
        return job
