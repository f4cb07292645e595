"""benchmarks/run_times.py: every benchmark file lands under its rule, or is named as left out."""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("run_times", ROOT / "benchmarks" / "run_times.py")
run_times = importlib.util.module_from_spec(spec)
spec.loader.exec_module(run_times)


def _bench(folder: Path, rel: str, seconds: float) -> None:
    path = folder / "benchmarks" / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"s\th:m:s\tmax_rss\n{seconds}\t0:00:01\t100.0\n")


def test_rules_and_surrogates_are_summed_and_unknown_files_named(tmp_path, capsys):
    # a study's steps: a folder per step, a file per job named by its wildcards
    _bench(tmp_path, "bayesopt/bayesopt_run/gp.tsv", 15.0)
    _bench(tmp_path, "bayesopt/bayesopt_run/single_rbf.tsv", 7.0)
    _bench(tmp_path, "bayesopt/bayesopt_run/rbf_soft.tsv", 4.0)
    _bench(tmp_path, "cll_images/cll_images_run/multi_fashion_single_lenet.tsv", 3.0)
    _bench(tmp_path, "cll_images/fig_cll_images.tsv", 1.0)
    _bench(tmp_path, "train/main/case1_N500_block0.tsv", 30.0)
    _bench(tmp_path, "train/main/case2_N500-1000_block0.tsv", 20.0)  # one job, two sizes
    _bench(tmp_path, "train/relatedness/case2_N2000_rho0.5-0.9-1_block0.tsv", 6.0)
    _bench(tmp_path, "somewhere/new_rule.tsv", 99.0)
    df = run_times.read(tmp_path)
    assert "left out (no rule matches): somewhere/new_rule.tsv" in capsys.readouterr().err
    bo = df[df["rule"] == "bayesopt_run"].groupby("dataset")["s"].sum()
    assert bo.to_dict() == {"gp": 15.0, "rbf_soft": 4.0, "single_rbf": 7.0}
    assert df[df["rule"] == "fig_cll_images"]["s"].tolist() == [1.0]
    lenet = df[df["rule"] == "cll_images_run"]
    assert lenet[["dataset", "s"]].values.tolist() == [["multi_fashion_single_lenet", 3.0]]
    train = df[df["rule"] == "train"]
    assert dict(zip(train["n"], train["s"], strict=True)) == {"500": 30.0, "500-1000": 20.0}
    related = df[df["rule"] == "train_relatedness"]
    assert related[["dataset", "n", "s"]].values.tolist() == [["case2", "2000", 6.0]]
    assert df["s"].sum() == pytest.approx(86.0)
