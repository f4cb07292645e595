"""Copy a finished run's tables into docs/results/, stamped with the commit and config hash.

Run it after a complete `bash run.sh` (config.yaml). It copies results/tables/*.csv (small) to
docs/results/tables/, writes docs/results/provenance.yaml (commit, config hash, packages,
devices, fits, the run's wall time if given) and docs/results/tables.md: the loss tables laid
out as the paper's (one row per N, ours above the paper's value) and the verdict counts, from
which docs/results/README.md is written.

    python scripts/publish_results.py [--run-folder .] [--wall "J jobs in M min"]
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import yaml

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "results"


def fmt(v: float) -> str:
    return "–" if pd.isna(v) else f"{v:.4g}"


def loss_grid(t: pd.DataFrame, methods: list[str]) -> str:
    """Markdown: one row per (dataset, N), per method 'ours [paper]'."""
    lines = ["| data set | N | " + " | ".join(methods) + " |", "|---|---|" + "---|" * len(methods)]
    for (dataset, n), g in t.groupby(["dataset", "n"], sort=False):
        by = g.set_index("method")
        cells = [
            f"{fmt(by.loc[m, 'ours'])} [{fmt(by.loc[m, 'paper'])}]" if m in by.index else "–"
            for m in methods
        ]
        lines.append(f"| {dataset} | {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def verdicts(claims: pd.DataFrame) -> str:
    if claims.empty:
        return "(no claims)"
    counts = claims.groupby(["claim", "verdict"]).size().unstack(fill_value=0)
    return counts.to_markdown()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run-folder", type=Path, default=ROOT)
    ap.add_argument("--wall", default=None, help='e.g. "72 jobs in 17 min on 2 cores"')
    args = ap.parse_args()
    run = args.run_folder.resolve()
    tables = sorted((run / "results" / "tables").glob("table*.csv"))
    if not tables:
        raise SystemExit(f"{run}/results/tables has no tables: run the workflow first")
    (OUT / "tables").mkdir(parents=True, exist_ok=True)
    for f in tables:
        shutil.copy2(f, OUT / "tables" / f.name)
    config = (run / "config.yaml").read_bytes()
    commit = subprocess.run(
        ["git", "-C", str(run), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    fits = sorted((run / "results" / "fits").rglob("*.parquet"))
    meta = json.loads(pq.read_schema(fits[0]).metadata[b"asp"])
    rows = pd.concat([pd.read_parquet(f) for f in fits], ignore_index=True)
    provenance = {
        "commit": commit,
        "config": "config.yaml",
        "config_sha256": hashlib.sha256(config).hexdigest(),
        "published": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "run": args.wall,
        "fits": len(rows),
        "diverged": int(rows["diverged"].sum()),
        "devices": sorted(rows["device"].unique()),
        "job_config_hashes": int(rows["config_hash"].nunique()),
        "versions": meta["versions"],
    }
    (OUT / "provenance.yaml").write_text(yaml.safe_dump(provenance, sort_keys=False))

    def read(k: int) -> pd.DataFrame:
        return pd.read_csv(OUT / "tables" / f"table{k}.csv")

    def claims(k: int) -> pd.DataFrame:
        return pd.read_csv(OUT / "tables" / f"table{k}_claims.csv")

    parts = [f"Commit `{commit}`, config.yaml sha256 `{provenance['config_sha256'][:16]}`.\n"]
    for k, title in ((3, "Table 3, test MSE"), (4, "Table 4, test MAE")):
        parts += [f"## {title}: ours [paper]\n", loss_grid(read(k), ["ffn", "soft", "adaptive"])]
        parts += ["\nVerdicts of the paired claims:\n", verdicts(claims(k)), ""]
    for k in (5, 6):
        t = read(k)
        parts += [f"## Table {k}: ours [paper]\n", "| data set | quantity | ours | paper |"]
        parts += ["|---|---|---|---|"]
        parts += [
            f"| {r.dataset} | {r.method} {r.quantity} | {fmt(r.ours)} | {fmt(r.paper)} |"
            for r in t.itertuples()
        ]
        parts += ["\n" + verdicts(claims(k)), ""]
    t7 = read(7)
    for metric, g in t7.groupby("metric"):
        parts += [f"## Table 7 ({metric}): ours [paper]\n"]
        parts += [loss_grid(g, ["l2_only", "mean_only", "adaptive"]), ""]
    parts += ["Verdicts:\n", verdicts(claims(7)), ""]
    for k in (9, 11):
        path = OUT / "tables" / f"table{k}.csv"
        if path.exists():
            t = read(k)
            parts += [f"## Table {k}: ours [paper]\n"]
            parts += ["| metric | method | quantity | ours | paper |", "|---|---|---|---|---|"]
            parts += [
                f"| {r.metric} | {r.method} | {r.quantity} | {fmt(r.ours)} | {fmt(r.paper)} |"
                for r in t.itertuples()
            ]
            parts += ["\n" + verdicts(claims(k)), ""]
    (OUT / "tables.md").write_text("# Full-run tables beside the paper's\n\n" + "\n".join(parts))
    print(f"published {len(tables)} tables to {OUT} (commit {commit[:10]})")


if __name__ == "__main__":
    main()
