rule report:
    """One self-contained HTML file: every table beside the paper's, claims, figures, provenance."""
    input:
        tables=expand("results/tables/table{k}.csv", k=TABLES),
        claims=expand("results/tables/table{k}_claims.csv", k=TABLES),
        figures=expand("results/figures/fig{k}.png", k=FIGURES),
        checksums=expand("results/data/{dataset}/N{n}.sha256", dataset=CASES, n=SIZES),
        case_studies=expand("results/data/{dataset}/Nall.json", dataset=REAL),
        fits=sorted({f for k in TABLES for f in table_inputs(k)}),
        tuned=[tuned_path(d, m) for d in DATASETS for m in METRICS] if TUNED else [],
        tuning_figure=TUNING_FIGURE,
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
        figures=FIGURES,
    script:
        "../scripts/report.py"
