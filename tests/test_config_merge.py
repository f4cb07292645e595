"""Config overlays (asp.pipeline.config_merge): a --configfile merged over config.yaml as Snakemake
merges it, an empty mapping replacing; the schema and the checks on the merged result."""

from __future__ import annotations

import copy

import pytest
import yaml
from conftest import ROOT, SCHEMA, validated
from snakemake.exceptions import WorkflowError
from snakemake.utils import update_config, validate

from asp.pipeline.config import check_config
from asp.pipeline.config_merge import emptied, merged
from asp.pipeline.planning import Plan
from asp.pipeline.planning.paths import block_replicates


def base() -> dict:
    return yaml.safe_load((ROOT / "config.yaml").read_text())


def test_mappings_merge_key_by_key_lists_and_scalars_replace():
    config = {"a": {"x": 1, "y": [1, 2], "z": {"p": 1, "q": 2}}, "b": 3, "c": {"k": 1}}
    before = copy.deepcopy(config)
    over = {"a": {"y": [], "z": {"q": 5}}, "b": "four", "c": {}, "d": {"new": {}}}
    out = merged(config, over, {"a": {"x": 9}})
    assert out == {
        "a": {"x": 9, "y": [], "z": {"p": 1, "q": 5}},
        "b": "four",
        "c": {},  # an empty mapping replaces
        "d": {"new": {}},
    }
    assert config == before  # the arguments are unchanged
    assert sorted(emptied(over)) == [("c",), ("d", "new")]


def test_the_merge_is_snakemakes_but_for_empty_mappings():
    """Without an empty mapping, merged() is Snakemake's update_config, which the workflow
    uses: the same result for the shipped overlays over config.yaml."""
    for name in ("config/tiny.yaml", "config/tuned.yaml", "config/cll_full.yaml"):
        over = yaml.safe_load((ROOT / name).read_text())
        assert not list(emptied(over)), name
        theirs = base()
        update_config(theirs, over)
        assert merged(base(), over) == theirs, name


def test_an_overlay_of_one_key_plans_the_complete_run_with_it():
    """`replicates: 3` alone: every data set's one block holds replicates 0-2; the studies on
    the evaluation replicates take those 3 (said at start-up); nothing else changes."""
    full = Plan(validated())
    plan = Plan(validated(change=lambda c: c.update(merged(c, {"replicates": 3}))))
    assert plan.results.blocks == [0] and block_replicates(plan.config, 0) == [0, 1, 2]
    assert plan.sweeps["budget"].replicates == plan.sweeps["relatedness"].replicates == 3
    assert plan.sweeps["cll_rbf"].replicates == 20  # its own data, its own replicates
    assert [n.split(":")[0] for n in plan.notes] == ["budget_study", "relatedness"]
    assert "the run's 3 replicates, not the 20 configured" in plan.notes[0]
    assert full.notes == []
    assert [t.id for t in plan.results.tables] == [t.id for t in full.results.tables]
    assert list(plan.sweeps) == list(full.sweeps)


def test_the_shipped_variants_are_short_overlays():
    assert len((ROOT / "config/tuned.yaml").read_text().splitlines()) <= 15
    tuned = Plan(validated("config/tuned.yaml"))
    assert (
        tuned.tuning.tuned_sets == tuned.data.datasets and tuned.sweeps == {}
    )  # the studies run in config.yaml's run
    assert [t.id for t in tuned.results.tables] == [
        t.id for t in Plan(validated()).results.tables[:11]
    ]
    tiny = validated("config/tiny.yaml")
    assert tiny["simulation"]["cases"] == validated()["simulation"]["cases"]  # config.yaml's
    assert tiny["replicates"] == 4 and tiny["simulation"]["sizes"] == [300, 500]


def test_an_empty_mapping_says_none():
    """`simulation: {cases: {}}`: no main run (no Tables 1-7, Figures 3-5, nor the studies on
    the simulation cases); the case studies and the CLL paper's studies still run."""
    config = merged(base(), {"simulation": {"cases": {}}})
    validate(config, str(SCHEMA))
    check_config(config)
    plan = Plan(config)
    assert plan.data.cases == [] and set(plan.sweeps) == {"cll_rbf"}
    ids = [t.id for t in plan.results.tables]
    assert ids == ["table8", "table9", "table10", "table11", "cll_rbf"]
    no_sets = Plan(validated(change=lambda c: c.update(merged(c, {"case_studies": {"sets": {}}}))))
    assert no_sets.data.real == [] and no_sets.data.cases == ["case1", "case2", "case3"]


@pytest.mark.parametrize(
    ("overlay", "named"),
    [
        ({"trainig": {"patience": 3}}, "'trainig' was unexpected"),
        ({"training": {"batch_sise": 3}}, "'batch_sise' was unexpected"),
        ({"simulation": {"sizes": [-5]}}, "['sizes']"),
    ],
)
def test_the_schema_checks_the_merged_config(overlay, named):
    with pytest.raises(WorkflowError) as err:
        validate(merged(base(), overlay), str(SCHEMA))
    assert named in str(err.value)
