"""Where a workflow run's time went, from Snakemake's benchmark files (benchmarks/**.tsv).

Prints, as Markdown: jobs, summed wall seconds, the longest job and peak memory per rule; and
the training jobs' seconds by sample size N.

    python benchmarks/run_times.py [RUN_FOLDER]    # default: this checkout
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pandas as pd

# benchmark file name -> rule
PATTERNS = [
    (r"train/(stage0|rounds_focus|rounds)_(\w+?)_N(\w+)_block\d+\.tsv", None),
    (r"budget/(stage0|rounds)_(\w+?)_N(\w+)_E\d+_block\d+\.tsv", "budget"),
    (r"tune/.*\.tsv", "tune"),
    (r"simulate/.*\.tsv", "simulate"),
    (r"ingest/.*\.tsv", "ingest"),
    (r"tables/.*\.tsv", "table"),
    (r"figures/.*\.tsv", "figure"),
    (r"report\.tsv", "report"),
]


def read(folder: Path) -> pd.DataFrame:
    rows = []
    for path in sorted((folder / "benchmarks").rglob("*.tsv")):
        rel = path.relative_to(folder / "benchmarks").as_posix()
        for pattern, rule in PATTERNS:
            m = re.fullmatch(pattern, rel)
            if not m:
                continue
            b = pd.read_csv(path, sep="\t").iloc[-1]
            row = {"rule": rule, "dataset": None, "n": None, "s": b["s"], "rss": b["max_rss"]}
            if m.groups():
                stage, dataset, n = m.groups()
                row |= {"rule": f"{rule or 'train'}_{stage}", "dataset": dataset, "n": n}
            rows.append(row)
            break
    return pd.DataFrame(rows)


def main() -> None:
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    df = read(folder)
    if df.empty:
        sys.exit(f"no benchmark files under {folder / 'benchmarks'}")
    per_rule = df.groupby("rule").agg(
        jobs=("s", "size"), seconds=("s", "sum"), longest=("s", "max"), peak_rss_mb=("rss", "max")
    )
    per_rule.loc["total"] = [len(df), df["s"].sum(), df["s"].max(), df["rss"].max()]
    print(per_rule.round(1).to_markdown())
    train = df[df["rule"].str.startswith("train_")]
    if len(train):
        by_n = train.pivot_table(index="n", columns="rule", values="s", aggfunc="sum")
        order = sorted(by_n.index, key=lambda n: (not n.isdigit(), int(n) if n.isdigit() else 0))
        print()
        print(by_n.loc[order].round(1).to_markdown())


if __name__ == "__main__":
    main()
