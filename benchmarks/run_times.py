"""Where a workflow run's time went, from Snakemake's benchmark files (benchmarks/**.tsv).

Prints, as Markdown: jobs, summed wall seconds, the longest job and peak memory per rule; the
training jobs' seconds by sample size N; and the seconds of each job of a study's steps (the
Bayesian optimisation's per surrogate, the image study's per data set and model).
With ``--slurm``, prints instead the SLURM profile's resources from those measurements
(profiles/slurm/config.yaml): per rule a runtime of 3 x its longest job (at least 5 min) and
2 x its peak memory (at least 1 GB).

    python benchmarks/run_times.py [RUN_FOLDER] [--slurm]    # default: this checkout
"""

from __future__ import annotations

import math
import re
import sys
from pathlib import Path

import pandas as pd

# benchmark file name -> rule (training rules: the prefix and the stage of the file name)
PATTERNS = [
    # a folder per training rule: the rule without train_ (main: train), the sizes of a job
    # joined by - (a study's: its value's folder prefix and its values)
    (r"train/(\w+)/(\w+?)_N([\w-]+?)(?:_[A-Za-z]+[\d.-]+)?_block\d+\.tsv", "train"),
    # runs from before a job trained both stages of its block
    (r"train/(stage0|rounds_focus|rounds)_(\w+?)_N(\w+)_block\d+\.tsv", "train"),
    # a study's job, train_<study> (asp.studies.declaration): its value's folder prefix and value
    (r"train/([a-z_]+?)_(\w+?)_N(\w+)_[A-Za-z]+[\d.]+_block\d+\.tsv", "train"),
    # runs from before the budget study trained both stages in one job
    (r"budget/(stage0|rounds)_(\w+?)_N(\w+)_E\d+_block\d+\.tsv", "budget"),
    (r"relatedness/(train)_(\w+?)_N(\w+)_rho[\d.]+_block\d+\.tsv", None),
    # a study's own data (simulate_<study>, floor_<study>)
    (r"(?P<study>[a-z_]+)/simulate_.*\.tsv", "simulate_{study}"),
    (r"(?P<study>[a-z_]+)/floor_.*\.tsv", "floor_{study}"),
    (r"floor/.*\.tsv", "floor"),
    # a step of a study with steps of its own (asp.studies.steps.Step.tag): a folder per study, then
    # per step (named for its study, or fig_<study>), a file per job named by its wildcards
    (r"(?P<study>[a-z_]+)/(?P<step>(?:fig_)?(?P=study)\w*)(?:/(?P<job>[^/]+))?\.tsv", "{step}"),
    (r"tune/.*\.tsv", "tune"),
    (r"simulate/.*\.tsv", "simulate"),
    (r"ingest/.*\.tsv", "ingest"),
    (r"tables/.*\.tsv", "table"),
    (r"figures/.*\.tsv", "figure"),
    (r"report\.tsv", "report"),
]


def read(folder: Path) -> pd.DataFrame:
    rows, unknown = [], []
    for path in sorted((folder / "benchmarks").rglob("*.tsv")):
        rel = path.relative_to(folder / "benchmarks").as_posix()
        unknown.append(rel)
        for pattern, rule in PATTERNS:
            m = re.fullmatch(pattern, rel)
            if not m:
                continue
            b = pd.read_csv(path, sep="\t").iloc[-1]
            row = {"rule": rule, "dataset": None, "n": None, "s": b["s"], "rss": b["max_rss"]}
            if m.groupdict():
                row["rule"] = rule.format(**m.groupdict())
                row["dataset"] = m.groupdict().get("job")
            elif m.groups():
                stage, dataset, n = m.groups()
                name = f"{rule}_{stage}" if rule else f"{stage}_relatedness"
                name = "train" if name == "train_main" else name
                row |= {"rule": name, "dataset": dataset, "n": n}
            rows.append(row)
            unknown.pop()
            break
    if unknown:  # a rule this script does not know yet: its seconds are not in the totals
        print(f"left out (no rule matches): {', '.join(unknown)}", file=sys.stderr)
    return pd.DataFrame(rows)


def slurm_resources(df: pd.DataFrame) -> str:
    """The profile's default-resources (from the small rules) and set-resources (the others),
    as YAML, with the measurements behind them."""
    small = {"simulate", "floor", "ingest", "table", "figure", "report"}
    small |= {r for r in df["rule"] if r.startswith(("simulate_", "floor_"))}
    lines = ["default-resources:"]
    s = df[df["rule"].isin(small)]
    lines += [
        f"  runtime: {max(5, math.ceil(3 * s['s'].max() / 60))} # minutes; measured: "
        f"longest of {len(s)} small jobs {s['s'].max():.0f} s",
        f"  mem_mb: {max(1000, 500 * math.ceil(2 * s['rss'].max() / 500))} # peak "
        f"{s['rss'].max():.0f} MB",
        "  cpus_per_task: 1",
        "set-resources:",
    ]
    for rule, g in df[~df["rule"].isin(small)].groupby("rule"):
        lines += [
            f"  {rule}: # {len(g)} jobs, longest {g['s'].max():.0f} s, peak "
            f"{g['rss'].max():.0f} MB",
            f"    runtime: {max(5, math.ceil(3 * g['s'].max() / 60))}",
            f"    mem_mb: {max(1000, 500 * math.ceil(2 * g['rss'].max() / 500))}",
        ]
    return "\n".join(lines)


def main() -> None:
    args = [a for a in sys.argv[1:] if a != "--slurm"]
    folder = Path(args[0] if args else ".")
    df = read(folder)
    if df.empty:
        sys.exit(f"no benchmark files under {folder / 'benchmarks'}")
    if "--slurm" in sys.argv:
        print(slurm_resources(df))
        return
    per_rule = df.groupby("rule").agg(
        jobs=("s", "size"), seconds=("s", "sum"), longest=("s", "max"), peak_rss_mb=("rss", "max")
    )
    per_rule.loc["total"] = [len(df), df["s"].sum(), df["s"].max(), df["rss"].max()]
    print(per_rule.round(1).to_markdown())
    train = df[df["rule"].str.startswith("train")]
    if len(train):
        by_n = train.pivot_table(index="n", columns="rule", values="s", aggfunc="sum")
        # a job of several sizes is a row of its own ("500-1000"), after the single sizes
        order = sorted(by_n.index, key=lambda n: (not n.isdigit(), int(n) if n.isdigit() else 0, n))
        print()
        print(by_n.loc[order].round(1).to_markdown())
    steps = df[df["dataset"].notna() & ~df["rule"].str.startswith("train")]
    for rule, jobs in steps.groupby("rule"):
        per = jobs.groupby("dataset")["s"].agg(jobs="size", seconds="sum", longest="max")
        print()
        print(per.rename_axis(f"{rule}: job").round(1).to_markdown())


if __name__ == "__main__":
    main()
