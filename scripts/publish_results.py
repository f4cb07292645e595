"""Copy a finished run's tables into docs/results/, stamped with the commit and config hash.

Run it after a complete `bash run.sh` (config.yaml). It copies results/tables/*.csv (small) to
docs/results/tables/, writes docs/results/provenance.yaml (commit, config hash, packages,
devices, fits, the run's wall time if given) and docs/results/tables.md: every table laid out
as the paper's (asp.analysis.layout) and the verdict counts, from which docs/results/README.md is
written.

    python scripts/publish_results.py [--run-folder .] [--wall "J jobs in M min"]
        [--config config/tuned.yaml --out docs/results/tuned]
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

from asp.analysis.catalog import TABLES
from asp.analysis.layout import paper_layout
from asp.engine.methods import METHODS
from asp.pipeline.config_merge import merged
from asp.studies.registry import STUDIES

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "results"


def verdicts(claims: pd.DataFrame) -> str:
    if claims.empty:
        return "(no claims)"
    col = "holm_verdict" if "holm_verdict" in claims else "verdict"
    keys = [s.variable for s in STUDIES.values() if s.variable and s.variable in claims]
    keys.append("claim")
    counts = claims.groupby([*keys, col]).size().unstack(fill_value=0)
    return counts.to_markdown()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run-folder", type=Path, default=ROOT)
    ap.add_argument("--wall", default=None, help='e.g. "72 jobs in 17 min on 2 cores"')
    ap.add_argument(
        "--config",
        default="config.yaml",
        help="what the run used: config.yaml, or the --configfile overlaid on it",
    )
    ap.add_argument("--out", type=Path, default=OUT, help="default: docs/results")
    args = ap.parse_args()
    out = args.out.resolve()
    run = args.run_folder.resolve()
    tables = sorted((run / "results" / "tables").glob("*.csv"))
    if not tables:
        raise SystemExit(f"{run}/results/tables has no tables: run the workflow first")
    (out / "tables").mkdir(parents=True, exist_ok=True)
    for f in tables:
        shutil.copy2(f, out / "tables" / f.name)
    # an overlay is stamped with the config.yaml it merged over: both files' bytes
    files = list(dict.fromkeys(["config.yaml", args.config]))
    config = b"".join((run / f).read_bytes() for f in files)
    commit = subprocess.run(
        ["git", "-C", str(run), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    # every fit: the main tables' and the studies' (results/budget/, results/relatedness/)
    fits = sorted(p for p in (run / "results").rglob("*.parquet") if "fits" in p.parts)
    meta = json.loads(pq.read_schema(fits[0]).metadata[b"asp"])
    rows = pd.concat([pd.read_parquet(f) for f in fits], ignore_index=True)
    provenance = {
        "commit": commit,
        "config": " + ".join(files),
        "config_sha256": hashlib.sha256(config).hexdigest(),
        "published": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "run": args.wall,
        "fits": len(rows),
        "diverged": int(rows["diverged"].sum()),
        "devices": sorted(rows["device"].unique()),
        "job_config_hashes": int(rows["config_hash"].nunique()),
        "versions": meta["versions"],
    }
    (out / "provenance.yaml").write_text(yaml.safe_dump(provenance, sort_keys=False))
    parts = [
        f"Commit `{commit}`, {' + '.join(files)} sha256 `{provenance['config_sha256'][:16]}`. "
        "Each cell: ours (95 % CI) [paper]; under a method, its paired claims after Holm "
        "(✓ supported, ✗ contradicted, ~ not significant).\n"
    ]
    cfg = merged(*(yaml.safe_load((run / f).read_text()) for f in files))
    for spec in [*TABLES.values(), *(s.table for s in STUDIES.values())]:
        path = out / "tables" / f"{spec.id}.csv"
        if not path.exists():
            continue
        table = pd.read_csv(path)
        try:
            claims = pd.read_csv(out / "tables" / f"{spec.id}_claims.csv")
        except pd.errors.EmptyDataError:  # no claim: the file holds no columns
            claims = pd.DataFrame()
        study = STUDIES.get(spec.study) if spec.study else None
        if study is not None and not study.sweep:  # its own layout, or its long form
            grid = study.layout(table, study.block(cfg)) if study.layout else table
        else:
            grid = paper_layout(spec, table, claims, list(METHODS), br=" ")
        parts += [f"## {spec.title}\n", grid.to_markdown(index=False), ""]
        if len(claims):
            parts += ["Verdicts:\n", verdicts(claims), ""]
    (out / "tables.md").write_text("# Full-run tables beside the paper's\n\n" + "\n".join(parts))
    print(f"published {len(tables)} tables to {out} (commit {commit[:10]})")


if __name__ == "__main__":
    main()
