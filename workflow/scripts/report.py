"""Render reports/report.html: tables beside the paper's, claim verdicts, figures, provenance."""

import base64
import datetime
import io
import json
import subprocess
from pathlib import Path

import pandas as pd
import yaml
from io_utils import read_meta, start_logging

from asp.bayesopt_results import LABELS as BAYESOPT_LABELS
from asp.bayesopt_results import findings as bayesopt_findings
from asp.bayesopt_results import table2_layout
from asp.effects import at_a_glance, claim_effects, cll_glance
from asp.layout import paper_layout
from asp.lenet_results import LABELS as LENET_LABELS
from asp.lenet_results import findings as lenet_findings
from asp.lenet_results import table1_layout
from asp.plots import forest
from asp.report import grid_html, html_table, render, section
from asp.studies import all_findings, table_spec
from asp.tables import verdict_counts, wall_by_stage
from asp.tuning import studies_frame

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


tables, claims = [], []
by_id, claims_by_id = {}, {}
for table, tpath, cpath in zip(smk.params.tables, smk.input.tables, smk.input.claims, strict=True):
    spec = table_spec(table)
    table_id = spec.id
    long = by_id[table_id] = pd.read_csv(tpath)
    c = claims_by_id[table_id] = pd.read_csv(cpath)
    grid = paper_layout(spec, long, c, smk.params.table_methods[table_id])
    tables.append(
        {
            "id": spec.id,
            "title": spec.title,
            "html": grid_html(grid),
            "long": html_table(long),
            "losses": spec.builder in ("loss", "case_study", "study"),
            "csv": "data:text/csv;base64," + base64.b64encode(Path(tpath).read_bytes()).decode(),
            # the provenance note of a case study goes above its results table
            "case_study_results": spec.datasets if spec.builder == "case_study" else None,
            # a data set the paper does not have: its results table says where its rows came from
            "own_data": spec.builder == "case_study" and spec.paper is None,
        }
    )
    if len(c):
        claims.append(c.assign(table=spec.id)[["table", *c.columns]])
bayesopt = None
if smk.input.bayesopt:  # the CLL paper's Table 2 (asp.bayesopt_results)
    bo_path, bo_claims_path, cll_paper = smk.input.bayesopt
    bo, bo_claims = pd.read_csv(bo_path), read_claims(bo_claims_path)
    block = smk.params.config["bayesopt"]
    grid = table2_layout(bo, list(block["surrogates"]))
    bayesopt = {
        "html": html_table(grid),
        "long": html_table(bo),
        "csv": "data:text/csv;base64," + base64.b64encode(Path(bo_path).read_bytes()).decode(),
        "figure": data_uri(smk.input.bayesopt_figure[0]),
        "runs": block["runs"],
        "labels": [BAYESOPT_LABELS.get(s, s) for s in block["surrogates"]],
    }
    if len(bo_claims):
        claims.append(bo_claims.assign(table="bayesopt")[["table", *bo_claims.columns]])
    bo_found = bayesopt_findings(bo, bo_claims, pd.read_csv(cll_paper))
cll_images = None
if smk.input.cll_images:  # the CLL paper's Table 1 (asp.lenet_results)
    img_path, img_claims_path, _, img_figure = smk.input.cll_images
    img, img_claims = pd.read_csv(img_path), read_claims(img_claims_path)
    block = smk.params.config["cll_images"]
    cll_images = {
        "html": html_table(table1_layout(img, list(block["models"]))),
        "long": html_table(img),
        "claims": html_table(img_claims) if len(img_claims) else "",
        "csv": "data:text/csv;base64," + base64.b64encode(Path(img_path).read_bytes()).decode(),
        "figure": data_uri(img_figure),
        "block": block,
        "labels": [LENET_LABELS.get(m, m) for m in block["models"]],
        # the signed-rank test's smallest two-sided p-value over n pairs: all n signs alike;
        # Holm multiplies a claim's smallest by its cells, so a claim whose product exceeds
        # 5 % can never be decided by these runs
        "min_p": 2 / 2 ** block["runs"],
        "undecidable": (
            [
                f"{claim} ({n} cells)"
                for claim, n in img_claims.groupby("claim", sort=False).size().items()
                if n * 2 / 2 ** block["runs"] > 0.05
            ]
            if len(img_claims)
            else []
        ),
        # the epochs each model trained: the adaptive rounds add theirs
        "epochs": img.groupby("model")["epochs"].max().to_dict(),
    }
    if len(img_claims):
        claims.append(img_claims.assign(table="cll_images")[["table", *img_claims.columns]])
    protocol = (
        f"{block['images']['train']} training images, {block['runs']} runs, "
        f"{block['training']['epochs']} epochs"
    )
    img_found = lenet_findings(img, img_claims, protocol)
claims_df = pd.concat(claims, ignore_index=True) if claims else pd.DataFrame()
verdicts = verdict_counts(claims_df)
case_study_tables = [
    t["id"] for t in tables if t["case_study_results"] is not None
]  # every case study's results table, the paper's and any other
found = all_findings(by_id, claims_by_id, case_study_tables)
if bayesopt is not None:
    found += bo_found
if cll_images is not None:
    found += img_found
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
    study["id"]: section(study, data_uri(path))
    for study, path in zip(smk.params.studies, smk.input.study_figures, strict=True)
}
for t in tables:  # each figure beside the table it illustrates, a study's with its table
    t["figures"] = [f for f in figures if f["table"] == t["id"]]
    t["study"] = studies.get(t["id"])
effects = claim_effects(by_id, claims_by_id)
glance = at_a_glance(effects, smk.params.focus)
for g in glance:
    g["forest"] = figure_uri(forest(effects, g["claim"]))
# the CLL paper's claims, one sentence each (Figure 8, Tables 2 and 1)
cll_claims = {"cll_rbf": claims_by_id.get("cll_rbf")}
if bayesopt is not None:
    cll_claims["bayesopt"] = bo_claims
if cll_images is not None:
    cll_claims["cll_images"] = img_claims
glance_cll = cll_glance({k: v for k, v in cll_claims.items() if v is not None})
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
fits = pd.concat([pd.read_parquet(f) for f in smk.input.fits], ignore_index=True)
wall = wall_by_stage(fits)
checksums = [Path(f).read_text().strip() for f in smk.input.checksums]
meta = read_meta(smk.input.fits[0])
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
    config=yaml.safe_dump(smk.params.config, sort_keys=False),
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
    bayesopt=bayesopt,
    cll_images=cll_images,
    missing=smk.params.missing,
    missing_images=smk.params.missing_images,
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
