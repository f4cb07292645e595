"""The registries (methods, networks, tables, figures) and the config checks built on them."""

from __future__ import annotations

import ast
import copy
import dataclasses
import re

import pytest
import yaml
from conftest import ROOT, SCHEMA, validated
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from asp.analysis import catalog
from asp.data.simulation import SimulationCase
from asp.engine.methods import METHODS, Method, claim_pairs, register
from asp.engine.networks import Architecture, get_network
from asp.engine.training import TrainSettings
from asp.pipeline.config import ConfigError, check_config
from asp.studies.registry import get_table


@pytest.mark.parametrize(
    "name", ["config.yaml", "config/tiny.yaml", "config/tuned.yaml", "config/cll_full.yaml"]
)
def test_shipped_configs_pass_the_checks(name):
    check_config(validated(name))


OWN = {"file": "own.csv", "inputs": ["x1", "x2"], "outputs": ["y1", "y2"]}
SHARP = {"lambda": 0.01, "lambda_star": 0.005, "theta": 0.5}


def test_a_data_set_of_ones_own_needs_no_hyperparameters():
    cfg = copy.deepcopy(validated())
    cfg["case_studies"]["sets"]["own"] = OWN | {"categorical": {"x1": "first_seen"}}
    check_config(cfg)  # trains with tuned values
    validate(cfg, str(SCHEMA))
    cfg["case_studies"]["sets"]["own"]["colour"] = "red"
    with pytest.raises(WorkflowError, match="'colour' was unexpected"):
        validate(cfg, str(SCHEMA))


@pytest.mark.parametrize(
    ("change", "key", "why"),
    [
        (lambda c: c.update(methods=["ffn", "bogus"]), "methods", "unknown method 'bogus'"),
        (lambda c: c.update(penalty_methods=["l2"]), "penalty_methods", "unknown method 'l2'"),
        (
            lambda c: c["case_studies"].update(methods=["soft", "hardest"]),
            "case_studies.methods",
            "unknown method 'hardest'",
        ),
        (lambda c: c.update(focus_size=1234), "focus_size", "not one of simulation.sizes"),
        (
            lambda c: c["simulation"]["cases"]["case1"]["x"].update(low=9),
            "simulation.cases.case1.x",
            "low < high",
        ),
        (
            lambda c: c["simulation"]["cases"]["case2"]["weights"].pop("sd"),
            "simulation.cases.case2.weights",
            "normal needs ['sd']",
        ),
        (
            lambda c: c["simulation"]["cases"]["case3"]["x"].update(sd=2),
            "simulation.cases.case3.x",
            "not parameters of exponential",
        ),
        (
            lambda c: c["training"].update(batch_size=300),
            "training.batch_size",
            "exceeds the 245 training rows of N=500",
        ),
        (
            lambda c: c["hyperparameters"]["paper"]["case2"].pop("mae"),
            "hyperparameters.paper.case2.mae",
            "missing",
        ),
        (
            lambda c: c["tuning"].update(first_replicate=50),
            "tuning.first_replicate",
            "overlaps the evaluation replicates",
        ),
        (
            lambda c: c["hyperparameters"]["paper"]["air"]["mse"].update(lambda_star=float("nan")),
            "hyperparameters.paper.air.mse.lambda_star",
            "nan is not a finite number",
        ),
        (
            lambda c: c["tuning"]["factors"].update(theta=[0.5, float("inf")]),
            "tuning.factors.theta[1]",
            "inf is not a finite number",
        ),
        (
            lambda c: c.update(replicates=1),  # a study takes at most the run's replicates
            "replicates",
            "1: budget_study's paired tests need at least 2",
        ),
        (
            lambda c: c.update(studies={"batch_sweep": {"sizes": [16]}}),
            "studies.batch_sweep",
            "no such study is declared; declared: "
            "['bayesopt', 'budget', 'cll_images', 'cll_rbf', 'relatedness']",
        ),
        # a data set of one's own (asp.data.realdata.read_data)
        (
            lambda c: c["case_studies"]["sets"].update(own=OWN | {"colour": "red"}),
            "case_studies.sets.own.colour",
            "unknown key",
        ),
        (
            lambda c: c["case_studies"]["sets"].update(own=OWN | {"outputs": ["y1", "x1"]}),
            "case_studies.sets.own.outputs",
            "['x1'] are inputs too",
        ),
        (
            lambda c: c["case_studies"]["sets"].update(own=OWN | {"inputs": []}),
            "case_studies.sets.own.inputs",
            "needs at least 1 column(s)",
        ),
        (
            lambda c: c["case_studies"]["sets"].update(own=OWN | {"outputs": ["y1"]}),
            "case_studies.sets.own.outputs",
            "needs at least 2 column(s) (one per task)",
        ),
        (
            lambda c: c["case_studies"]["sets"].update(own={"file": "own.csv"}),
            "case_studies.sets.own.inputs",
            "needs at least 1 column(s)",
        ),
        (
            lambda c: c["case_studies"]["sets"].update(own=OWN | {"inputs": ["x1", "x1"]}),
            "case_studies.sets.own.inputs",
            "names ['x1'] more than once",
        ),
        (
            lambda c: c["case_studies"]["sets"].update(own=OWN | {"categorical": {"y1": []}}),
            "case_studies.sets.own.categorical.y1",
            "not one of the inputs",
        ),
        (
            lambda c: c["case_studies"]["sets"].update(own=OWN | {"missing": {"zero_in": ["x9"]}}),
            "case_studies.sets.own.missing.zero_in",
            "'x9' is not an input or output",
        ),
        (
            lambda c: c["case_studies"]["sets"].update(table3=OWN),
            "case_studies.sets.table3",
            "already the name of a rule, table or case",
        ),
        (
            lambda c: c["case_studies"]["sets"].update(case1=OWN),
            "case_studies.sets.case1",
            "already the name of a rule, table or case",
        ),
        (
            lambda c: c["hyperparameters"]["paper"].update(own={"mse": SHARP}),
            "hyperparameters.paper.own.mae",
            "missing",
        ),
        (
            lambda c: c["tuning"].update(ranges={"theta": [0.5, 0.1]}),
            "tuning.ranges.theta",
            "needs 0 < low < high <= 1",
        ),
        (
            lambda c: c["bayesopt"].update(surrogates=["single_rbf", "ffn"]),
            "bayesopt.surrogates",
            "surrogate 'ffn' is not on RBF networks",
        ),
        (
            lambda c: c["bayesopt"].update(surrogates=["gp", "rbf_bayes"]),
            "bayesopt.surrogates",
            "unknown method 'rbf_bayes'",
        ),
        (
            lambda c: c["bayesopt"].update(initial=20, evaluations=99),
            "bayesopt.evaluations",
            "an even number beyond them",
        ),
        (
            lambda c: c["cll_images"]["training"].update(batch_size=5000),
            "cll_images.training.batch_size",
            "5000 exceeds the 3000 training images",
        ),
    ],
)
def test_a_config_that_cannot_run_names_the_key(change, key, why):
    cfg = copy.deepcopy(validated())
    if "own" in key:  # a data set of one's own, without hyper-parameters unless the change
        cfg["case_studies"]["sets"]["own"] = OWN  # gives some
    change(cfg)
    with pytest.raises(ConfigError, match=re.escape(why)) as err:
        check_config(cfg)
    assert err.value.key == key and str(err.value).startswith(f"config: {key}: ")


def test_defaults_live_in_the_schema_only():
    """The training settings a config gives have no second default in the code; the simulation
    case's optional keys default to the schema's values."""
    schema = yaml.safe_load(SCHEMA.read_text())
    missing = dataclasses.MISSING
    fields = {f.name: f for f in dataclasses.fields(TrainSettings)}
    for key in schema["properties"]["training"]["properties"]:
        if key in fields:
            assert fields[key].default is missing, f"TrainSettings.{key} has a default"
    case = schema["properties"]["simulation"]["properties"]["cases"]["additionalProperties"]
    defaults = {f.name: f.default for f in dataclasses.fields(SimulationCase)}
    for key in ("noise_sd", "hidden"):
        assert case["properties"][key]["default"] == defaults[key]


def test_method_entries_are_checked():
    with pytest.raises(ValueError, match="registered twice"):
        register(Method("soft", "again", "stage0"))
    with pytest.raises(ValueError, match="needs round_penalty and starts_from"):
        Method("half", "rounds without a penalty", "rounds", ("lambda", "lambda_star", "theta"))
    with pytest.raises(ValueError, match="starts_from must name a stage0 method"):
        register(
            Method(
                "chained",
                "rounds from rounds",
                "rounds",
                ("lambda", "lambda_star", "theta"),
                round_penalty="mean_squared",
                starts_from="adaptive",
            )
        )
    assert "chained" not in METHODS


def test_claims_come_from_the_registry():
    assert claim_pairs(["ffn", "soft", "adaptive"]) == [("adaptive", "soft"), ("soft", "ffn")]
    assert claim_pairs(["l2_only", "mean_only", "adaptive"]) == [
        ("adaptive", "l2_only"),
        ("adaptive", "mean_only"),
    ]
    assert claim_pairs(["ffn", "adaptive"]) == []


def test_unknown_ids_are_errors_that_name_them():
    with pytest.raises(ValueError, match="unknown table 'table12'"):
        catalog.get_table("table12")
    with pytest.raises(ValueError, match="unknown figure 'fig9'"):
        catalog.get_figure("fig9")
    with pytest.raises(ValueError, match="unknown network family 'hard'"):
        get_network("hard", Architecture(4, (4, 3), 2))


def test_figures_are_numbered_by_declaration():
    figs = catalog.figures_for(["case1", "case2", "case3", "case4", "case5", "air"])
    assert [f.id for f in figs] == ["fig3", "fig4", "fig5", "fig_case4", "fig_case5", "fig6"]
    assert [f.label for f in figs][3:] == ["Figure (case4)", "Figure (case5)", "Figure 6"]
    assert [f.id for f in catalog.figures_for(["student"])] == ["fig7"]


def test_every_declared_table_names_a_paper_table_and_a_builder():
    assert [t.paper for t in catalog.TABLES.values()] == list(range(1, 12))
    assert list(catalog.TABLES) == [f"table{k}" for k in range(1, 12)]
    # the studies' tables are declared with the studies, and found by the same lookup
    for study in ("budget", "relatedness"):
        spec = get_table(study)
        assert spec.paper is None and spec.study == study and spec.builder == "study"


def test_the_science_package_never_imports_the_workflow():
    for path in (ROOT / "src" / "asp").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            for name in names:
                top = name.split(".")[0]
                assert top not in ("workflow", "io_utils", "snakemake"), f"{path}: {name}"
