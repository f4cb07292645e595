"""Checks of a configuration beyond its JSON schema: what the schema cannot say (names known to
the registries, values consistent with each other). The workflow runs them at start-up, so a
config that passes them runs, and one that does not stops naming the key."""

from __future__ import annotations

import math

from asp.analysis.catalog import FIGURES, TABLES
from asp.data.realdata import ENTRY_KEYS, FIRST_SEEN, resolve_entry
from asp.data.simulation import Distribution
from asp.engine.methods import METHODS
from asp.engine.preprocessing import split_sizes
from asp.studies.declaration import BlockError
from asp.studies.registry import STUDIES


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
    lists = {"methods": config["methods"], "penalty_methods": config["penalty_methods"]}
    if config["case_studies"]["sets"]:
        lists["case_studies.methods"] = config["case_studies"]["methods"]
    for study in STUDIES.values():
        if study.values(config):
            lists[f"{study.config_key}.methods"] = study.block(config)["methods"]
    return lists


def _check_studies(config: dict) -> None:
    """Each study's block (asp.studies.declaration): a declared study, replicates among the
    evaluation replicates (a study's are the first ones, paired with the main run's), a configured
    metric."""
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
        if study.datasets is not None:  # data of its own: its replicates are its own
            n_train = split_sizes(block["n"])[0]
            if block.get("batch_size", 1) > n_train:
                raise ConfigError(
                    f"{study.config_key}.batch_size",
                    f"{block['batch_size']} exceeds the {n_train} training rows of its "
                    f"N={block['n']}",
                )
        elif config["replicates"] < 2:  # a study takes at most the evaluation replicates
            raise ConfigError(
                "replicates",
                f"{config['replicates']}: {study.config_key}'s paired tests need at least 2 "
                "(its replicates are the first evaluation replicates)",
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


def _reserved_names(config: dict) -> set[str]:
    """Names a case study cannot take: they are rule, table or figure names already, or a
    simulation case."""
    names = {"all", "report", "tuning", "fig_tuning", "simulate", "floor", "ingest", "tune"}
    names |= set(TABLES) | set(FIGURES) | set(STUDIES) | set(config["simulation"]["cases"])
    names |= {s.figure for s in STUDIES.values()} | {f"train_{s}" for s in STUDIES}
    names |= {"train", "train_focus", "train_case_study"}
    return names


def _check_data_sets(config: dict) -> None:
    """Each case study's entry (asp.data.realdata.read_data), after merging with a built-in one:
    known keys, input and output columns named, disjoint and each once, categorical and
    zero-coded columns among them, and a name free for its rules and tables."""
    reserved = _reserved_names(config)
    for name, given in config["case_studies"]["sets"].items():
        key = f"case_studies.sets.{name}"
        if name in reserved or name.startswith("train_"):  # train_*: the training rules'
            raise ConfigError(key, f"{name!r} is already the name of a rule, table or case")
        for k in given or {}:
            if k not in ENTRY_KEYS:
                raise ConfigError(f"{key}.{k}", f"unknown key; an entry takes {list(ENTRY_KEYS)}")
        entry = resolve_entry(name, given)
        if not entry.get("file"):
            raise ConfigError(f"{key}.file", "missing")
        for part, least in (("inputs", 1), ("outputs", 2)):
            columns = entry[part]
            if len(columns) < least:
                raise ConfigError(
                    f"{key}.{part}",
                    f"needs at least {least} column(s)"
                    + (" (one per task)" if part == "outputs" else ""),
                )
            twice = sorted({c for c in columns if columns.count(c) > 1})
            if twice:
                raise ConfigError(f"{key}.{part}", f"names {twice} more than once")
        both = sorted(set(entry["inputs"]) & set(entry["outputs"]))
        if both:
            raise ConfigError(f"{key}.outputs", f"{both} are inputs too")
        for column, categories in entry["categorical"].items():
            if column not in entry["inputs"]:
                raise ConfigError(f"{key}.categorical.{column}", "not one of the inputs")
            if categories != FIRST_SEEN and (
                isinstance(categories, str)
                or not categories
                or len(set(categories)) < len(categories)
            ):
                raise ConfigError(
                    f"{key}.categorical.{column}",
                    f"needs a list of distinct categories or {FIRST_SEEN!r}",
                )
        used = set(entry["inputs"]) | set(entry["outputs"])
        for column in entry["missing"]["zero_in"]:
            if column not in used:
                raise ConfigError(f"{key}.missing.zero_in", f"{column!r} is not an input or output")
            if column in entry["categorical"]:
                raise ConfigError(f"{key}.missing.zero_in", f"{column!r} is categorical")
        if entry["output"] not in ("sigmoid", "linear"):
            raise ConfigError(f"{key}.output", "must be sigmoid or linear")


def _check_declared(config: dict) -> None:
    """Each study's own check of its block (asp.studies.declaration.Study.check)."""
    for study in STUDIES.values():
        if study.check is None:
            continue
        try:
            study.check(study.block(config))
        except BlockError as err:
            raise ConfigError(f"{study.config_key}.{err.key}", err.why) from None


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
    _check_data_sets(config)
    real = list(config["case_studies"]["sets"])
    paper = config["hyperparameters"]["paper"]
    for dataset in list(sim["cases"]) + real:
        # A case study without values trains with tuned ones; given values cover every metric.
        if dataset in real and dataset not in paper:
            continue
        for metric in config["metrics"]:
            if metric not in paper.get(dataset, {}):
                raise ConfigError(
                    f"hyperparameters.paper.{dataset}.{metric}",
                    "missing (lambda, lambda_star, theta)",
                )
    tuning = config["tuning"]
    for name, (lo, hi) in tuning.get("ranges", {}).items():
        if not 0 < lo < hi or (name == "theta" and hi > 1):
            raise ConfigError(
                f"tuning.ranges.{name}",
                f"[{lo:g}, {hi:g}] needs 0 < low < high" + (" <= 1" if name == "theta" else ""),
            )
    if tuning["first_replicate"] < config["replicates"]:
        raise ConfigError(
            "tuning.first_replicate",
            f"{tuning['first_replicate']} overlaps the evaluation replicates "
            f"0..{config['replicates'] - 1}; tuning replicates must be disjoint from them",
        )
    _check_studies(config)
    _check_declared(config)
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
