"""Checks of a configuration beyond its JSON schema: what the schema cannot say (names known to
the registries, values consistent with each other). The workflow runs them at start-up, so a
config that passes them runs, and one that does not stops naming the key."""

from __future__ import annotations

import math

from asp.methods import METHODS
from asp.preprocessing import split_sizes
from asp.simulation import Distribution


class ConfigError(ValueError):
    def __init__(self, key: str, why: str):
        super().__init__(f"config: {key}: {why}")
        self.key = key


def _check_distribution(key: str, spec: dict) -> None:
    try:
        Distribution.from_config(spec)
    except ValueError as err:
        raise ConfigError(key, str(err)) from None


def method_lists(config: dict) -> dict[str, list[str]]:
    """The config's method lists by key (the case studies' only when it has case studies, a
    study's only when it runs)."""
    from asp.studies import STUDIES

    lists = {"methods": config["methods"], "penalty_methods": config["penalty_methods"]}
    if config["case_studies"]["sets"]:
        lists["case_studies.methods"] = config["case_studies"]["methods"]
    for study in STUDIES.values():
        if study.values(config):
            lists[f"{study.config_key}.methods"] = study.block(config)["methods"]
    return lists


def _check_studies(config: dict) -> None:
    """Each study's block (asp.studies): a declared study, replicates among the evaluation
    replicates (a study's are the first ones, paired with the main run's), a configured
    metric."""
    from asp.studies import STUDIES

    declared = {s.config_key for s in STUDIES.values()}
    for key in config.get("studies", {}):
        if f"studies.{key}" not in declared:
            raise ConfigError(
                f"studies.{key}",
                f"no such study is declared; declared: {sorted(s.id for s in STUDIES.values())}",
            )
    for study in STUDIES.values():
        if not study.values(config):
            continue
        block = study.block(config)
        for need in ("replicates", "methods"):
            if need not in block:
                raise ConfigError(f"{study.config_key}.{need}", "missing")
        if block["replicates"] > config["replicates"]:
            raise ConfigError(
                f"{study.config_key}.replicates",
                f"{block['replicates']} exceeds the {config['replicates']} evaluation "
                "replicates (the study's replicates are the first ones, paired with the main "
                "run's)",
            )
        if block.get("metric", config["metrics"][0]) not in config["metrics"]:
            raise ConfigError(
                f"{study.config_key}.metric",
                f"{block['metric']} is not one of metrics {config['metrics']}",
            )


def _check_finite(node: object, key: str = "") -> None:
    """Every number of the config is finite: a NaN passes the schema's bounds (every
    comparison with it is false) and would train on silently wrong values."""
    if isinstance(node, dict):
        for k, v in node.items():
            _check_finite(v, f"{key}.{k}" if key else str(k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            _check_finite(v, f"{key}[{i}]")
    elif isinstance(node, float) and not math.isfinite(node):
        raise ConfigError(key, f"{node} is not a finite number")


def check_config(config: dict) -> None:
    """Raise ConfigError naming the first key that cannot run (the schema has passed)."""
    _check_finite(config)
    for key, names in method_lists(config).items():
        for name in names:
            if name not in METHODS:
                raise ConfigError(key, f"unknown method {name!r}; registered: {list(METHODS)}")
    sim = config["simulation"]
    if config["focus_size"] not in sim["sizes"]:
        raise ConfigError(
            "focus_size", f"{config['focus_size']} is not one of simulation.sizes {sim['sizes']}"
        )
    for case, spec in sim["cases"].items():
        for part in ("x", "weights"):
            _check_distribution(f"simulation.cases.{case}.{part}", spec[part])
    datasets = list(sim["cases"]) + list(config["case_studies"]["sets"])
    paper = config["hyperparameters"]["paper"]
    for dataset in datasets:
        for metric in config["metrics"]:
            if metric not in paper.get(dataset, {}):
                raise ConfigError(
                    f"hyperparameters.paper.{dataset}.{metric}",
                    "missing (lambda, lambda_star, theta)",
                )
    tuning = config["tuning"]
    if tuning["first_replicate"] < config["replicates"]:
        raise ConfigError(
            "tuning.first_replicate",
            f"{tuning['first_replicate']} overlaps the evaluation replicates "
            f"0..{config['replicates'] - 1}; tuning replicates must be disjoint from them",
        )
    _check_studies(config)
    batch = config["training"]["batch_size"]
    for key, n in [("simulation.sizes", min(sim["sizes"])), ("tuning.n", tuning["n"])]:
        try:
            n_train = split_sizes(n)[0]
        except ValueError as err:
            raise ConfigError(key, str(err)) from None
        if batch > n_train:
            raise ConfigError(
                "training.batch_size",
                f"{batch} exceeds the {n_train} training rows of N={n} ({key})",
            )
