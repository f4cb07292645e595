"""Render reports/report.html: tables beside the paper's, claim verdicts, figures, provenance."""

import base64
import datetime
import json
import subprocess
from pathlib import Path

import jinja2
import pandas as pd
import yaml
from io_utils import read_meta, start_logging

smk = snakemake  # noqa: F821
log = start_logging(smk.log[0])

TITLES = {
    1: "Table 1. Hyper-parameters, MSE runs: used (paper's or tuned), theta* / lambda* observed",
    2: "Table 2. Hyper-parameters, MAE runs: used (paper's or tuned), theta* / lambda* observed",
    3: "Table 3. Mean test MSE over replicates (95 % CI)",
    4: "Table 4. Mean test MAE over replicates (95 % CI)",
    5: "Table 5. Seconds per fit and improvement p = (s - a)/s, MSE runs",
    6: "Table 6. Seconds per fit and improvement p = (s - a)/s, MAE runs",
    7: "Table 7. Penalty forms inside the adaptive algorithm (l2_only, mean_only, combined)",
    8: "Table 8. Hyper-parameters, Nanjing air pollution (used, theta* / lambda* observed)",
    9: "Table 9. Nanjing air pollution: test loss, extra seconds and improvement of adaptive",
    10: "Table 10. Hyper-parameters, student performance (used, and theta* / lambda* observed)",
    11: "Table 11. Student performance: test loss, extra seconds and improvement of adaptive",
}


def html_table(df: pd.DataFrame) -> str:
    return df.to_html(
        index=False, na_rep="–", float_format=lambda v: f"{v:.4g}", border=0, classes="t"
    )


def data_uri(path: str) -> str:
    return f"data:image/png;base64,{base64.b64encode(Path(path).read_bytes()).decode()}"


def git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        return out.stdout.strip() + (" (uncommitted changes)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"


tables, claims = [], []
for tpath, cpath in zip(smk.input.tables, smk.input.claims, strict=True):
    k = int(Path(tpath).stem.removeprefix("table"))
    tables.append({"k": k, "title": TITLES[k], "html": html_table(pd.read_csv(tpath))})
    c = pd.read_csv(cpath)
    if len(c):
        c.insert(0, "table", k)
        claims.append(c)
claims_df = pd.concat(claims, ignore_index=True) if claims else pd.DataFrame()
verdicts = (
    claims_df.groupby(["table", "claim", "verdict"])
    .size()
    .unstack(fill_value=0)
    .rename_axis(columns=None)
    .reset_index()
    if len(claims_df)
    else pd.DataFrame()
)
figures = []
for f in smk.input.figures:
    k = int(Path(f).stem.removeprefix("fig"))
    dataset, n = smk.params.figures[k]
    figures.append({"k": k, "case": f"{dataset}, N={n}", "src": data_uri(f)})
case_studies = [json.loads(Path(f).read_text()) for f in smk.input.case_studies]


tuning = None
if smk.input.tuned:
    summaries = [yaml.safe_load(Path(f).read_text()) for f in smk.input.tuned]
    studies = pd.DataFrame(
        [
            {
                "dataset": t["dataset"],
                "metric": t["metric"],
                "N": t["n"],
                "phase": phase,
                "trials": s["trials"],
                "searched in": ", ".join(
                    f"{k} [{lo:.3g}, {hi:.3g}]" for k, (lo, hi) in s["ranges"].items()
                ),
                "objective at paper's values": s["paper_values_value"],
                "best objective": s["best_value"],
                **{f"tuned {k}": v for k, v in s["best_params"].items()},
                **{f"paper {k}": t["paper"][k] for k in s["best_params"]},
            }
            for t in summaries
            for phase, s in t["studies"].items()
        ]
    )
    first = summaries[0]
    tuning = {
        "seed": first["sampler"]["seed"],
        "per_batch": first["sampler"]["trials_per_batch"],
        "replicates": len(first["tuning_replicates"]),
        "table": html_table(studies),
        "figure": data_uri(smk.input.tuning_figure[0]),
    }
fits = pd.concat([pd.read_parquet(f) for f in smk.input.fits], ignore_index=True)
jobs = fits.drop_duplicates("job")
stage = jobs["job"].str.split().str[0].rename("stage")  # stage0, adaptive, penalty_forms
wall = jobs.groupby(stage)["job_seconds"].agg(["count", "sum"]).reset_index()
wall.columns = ["stage", "jobs", "training seconds"]
checksums = [Path(f).read_text().strip() for f in smk.input.checksums]
meta = read_meta(smk.input.fits[0])
html = jinja2.Template(Path(smk.input.template).read_text()).render(
    generated=datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    tables=tables,
    verdicts=html_table(verdicts) if len(verdicts) else "",
    claims=html_table(claims_df) if len(claims_df) else "",
    figures=figures,
    config=yaml.safe_dump(smk.params.config, sort_keys=False),
    commit=git_commit(),
    versions=meta["versions"],
    devices=sorted(fits["device"].unique()),
    n_fits=len(fits),
    n_diverged=int(fits["diverged"].sum()),
    wall=html_table(wall),
    total_seconds=float(jobs["job_seconds"].sum()),
    checksums=checksums,
    case_studies=case_studies,
    tuning=tuning,
    config_hashes=len(fits["config_hash"].unique()),
    versions_json=json.dumps(meta["versions"]),
)
Path(smk.output[0]).write_text(html)
log.info(
    "wrote %s: %d tables, %d figures, %d claims",
    smk.output[0],
    len(tables),
    len(figures),
    len(claims_df),
)
