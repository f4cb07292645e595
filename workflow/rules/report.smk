rule report:
    """One self-contained HTML file: every table beside the paper's, claims, figures, provenance."""
    input:
        tables=[f"results/tables/{t.id}.csv" for t in TABLES],
        claims=[f"results/tables/{t.id}_claims.csv" for t in TABLES],
        figures=[f"results/figures/{f.id}.png" for f in FIGURES],
        checksums=expand("results/data/{dataset}/N{n}.sha256", dataset=CASES, n=SIZES)
        + expand(
            "results/relatedness/rho{rho}/data/{dataset}/N{n}.sha256",
            rho=RHOS,
            dataset=CASES,
            n=FOCUS,
        ),
        case_studies=expand("results/data/{dataset}/Nall.json", dataset=REAL),
        fits=sorted({f for t in TABLES for f in table_inputs(t)}),
        tuned=[tuned_path(d, m) for d in DATASETS for m in METRICS] if TUNED else [],
        tuning_figure=TUNING_FIGURE,
        budget_figure=BUDGET_FIGURE,
        relatedness_figure=REL_FIGURE,
        template=workflow.source_path("../templates/report.html.j2"),
    output:
        "reports/report.html",
    log:
        "logs/report.log",
    benchmark:
        "benchmarks/report.tsv"
    conda:
        CONDA_ENV
    params:
        config=config,
        tables=[t.id for t in TABLES],
        table_methods={t.id: table_methods(t) for t in TABLES},
        figures=[
            {"id": f.id, "label": f.label, "dataset": f.dataset, "n": FIGURE_N(f)}
            for f in FIGURES
        ],
        figure_metric=FIGURE_METRIC,
    script:
        "../scripts/report.py"
