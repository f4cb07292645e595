"""Render reports/report.html: tables beside the paper's, claim verdicts, figures, provenance."""

import base64
import datetime
import io
import json
import subprocess
from pathlib import Path

import pandas as pd
import yaml
from io_utils import read_meta, start_logging, versions

from asp.analysis.effects import at_a_glance, claim_effects, cll_glance
from asp.analysis.layout import paper_layout
from asp.analysis.plots import forest
from asp.analysis.tables import verdict_counts, wall_by_stage
from asp.experiments.tuning import studies_frame
from asp.pipeline.report import grid_html, html_table, render, section
from asp.studies.registry import STUDIES, all_findings, load_study_modules, table_spec

smk = snakemake  # noqa: F821
log = start_logging(smk.log[0])


def data_uri(path: str) -> str:
    return f"data:image/png;base64,{base64.b64encode(Path(path).read_bytes()).decode()}"


def figure_uri(fig) -> str:
    """A matplotlib figure as a PNG data URI (the forest plots, drawn here)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return f"data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}"


def read_claims(path: str) -> pd.DataFrame:
    """A claims file; one with no claim (no pair of the config's models) holds no columns."""
    try:
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()


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


config = smk.params.config
load_study_modules(config["study_modules"])
tables, claims = [], []
by_id, claims_by_id, facts_by_id = {}, {}, {}
for table, tpath, cpath in zip(smk.params.tables, smk.input.tables, smk.input.claims, strict=True):
    spec = table_spec(table)
    table_id = spec.id
    long = by_id[table_id] = pd.read_csv(tpath)
    c = claims_by_id[table_id] = read_claims(cpath)
    study = STUDIES.get(spec.study) if spec.study else None
    block = study.block(config) if study else {}
    if study is not None and not study.sweep:  # a study's own layout, or its long form
        html = html_table(study.layout(long, block) if study.layout else long)
    else:
        html = grid_html(paper_layout(spec, long, c, smk.params.table_methods[table_id]))
    if study is not None:
        facts_by_id[table_id] = study.facts(long, c, block) if study.facts else {}
    tables.append(
        {
            "id": spec.id,
            "title": spec.title,
            "html": html,
            "long": html_table(long),
            "claims": html_table(c) if len(c) else "",
            "losses": spec.builder in ("loss", "case_study") or (study and study.sweep),
            "csv": "data:text/csv;base64," + base64.b64encode(Path(tpath).read_bytes()).decode(),
            # the provenance note of a case study goes above its results table
            "case_study_results": spec.datasets if spec.builder == "case_study" else None,
            # a data set the paper does not have: its results table says where its rows came from
            "own_data": spec.builder == "case_study" and spec.paper is None,
        }
    )
    if len(c):
        claims.append(c.assign(table=spec.id)[["table", *c.columns]])
claims_df = pd.concat(claims, ignore_index=True) if claims else pd.DataFrame()
verdicts = verdict_counts(claims_df)
case_study_tables = [
    t["id"] for t in tables if t["case_study_results"] is not None
]  # every case study's results table, the paper's and any other
papers = {path: pd.read_csv(path) for path in smk.input.papers}
found = all_findings(by_id, claims_by_id, config, case_study_tables, papers)
figures = [
    {
        "id": fig["id"],
        "label": fig["label"],
        "case": f"{fig['dataset']}, N={fig['n']}",
        "metric": smk.params.figure_metric.upper(),
        "src": data_uri(path),
        "table": fig["table"],
    }
    for fig, path in zip(smk.params.figures, smk.input.figures, strict=True)
]
studies = {
    study["id"]: section(
        study,
        data_uri(path),
        STUDIES[study["id"]].block(config),
        facts_by_id.get(study["id"], {}),
    )
    for study, path in zip(smk.params.studies, smk.input.study_figures, strict=True)
}
for t in tables:  # each figure beside the table it illustrates, a study's with its table
    t["figures"] = [f for f in figures if f["table"] == t["id"]]
    t["study"] = studies.get(t["id"])
effects = claim_effects(by_id, claims_by_id)
glance = at_a_glance(effects, smk.params.focus)
for g in glance:
    g["forest"] = figure_uri(forest(effects, g["claim"]))
# the CLL paper's claims, one sentence each (Figure 8, Tables 2 and 1:
# asp.studies.declaration.Study.glance)
glance_cll = cll_glance(
    claims_by_id, {k: s.glance for k, s in STUDIES.items() if s.glance and k in claims_by_id}
)
case_studies = [json.loads(Path(f).read_text()) for f in smk.input.case_studies]


tuning = None
if smk.input.tuned:
    summaries = [yaml.safe_load(Path(f).read_text()) for f in smk.input.tuned]
    studies = studies_frame(summaries)
    first = summaries[0]
    tuning = {
        "seed": first["sampler"]["seed"],
        "per_batch": first["sampler"]["trials_per_batch"],
        "replicates": len(first["tuning_replicates"]),
        "table": html_table(studies),
        "figure": data_uri(smk.input.tuning_figure[0]),
    }
if smk.input.fits:
    fits = pd.concat([pd.read_parquet(f) for f in smk.input.fits], ignore_index=True)
    wall = wall_by_stage(fits)
else:  # no fits: a run of studies with steps of their own only
    fits = pd.DataFrame({"device": [], "diverged": [], "config_hash": []})
    wall = pd.DataFrame({"training seconds": []})
checksums = [Path(f).read_text().strip() for f in smk.input.checksums]
meta = read_meta(smk.input.fits[0]) if smk.input.fits else {"versions": versions()}
html = render(
    Path(smk.input.template).read_text(),
    generated=datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    tables=tables,
    findings=found,
    glance=glance,
    glance_cll=glance_cll,
    verdicts=html_table(verdicts) if len(verdicts) else "",
    claims=html_table(claims_df) if len(claims_df) else "",
    unplaced=[f for f in figures if f["table"] is None],
    config=yaml.safe_dump(config, sort_keys=False),
    commit=git_commit(),
    versions=meta["versions"],
    devices=sorted(fits["device"].unique()),
    n_fits=len(fits),
    n_diverged=int(fits["diverged"].sum()),
    wall=html_table(wall),
    total_seconds=float(wall["training seconds"].sum()),
    checksums=checksums,
    case_studies=case_studies,
    tuning=tuning,
    missing=smk.params.missing,
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
