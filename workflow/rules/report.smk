rule report:
    """One self-contained HTML file: every table beside the paper's, claims, figures, provenance."""
    input:
        **plan.report.inputs(),
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
        tables=[table_param(t) for t in plan.report.tables],
        table_methods={t.id: plan.results.table_methods(t) for t in plan.report.tables},
        figures=[
            {
                "id": f.id,
                "label": f.label,
                "dataset": f.dataset,
                "n": plan.results.figure_n(f),
                "table": plan.report.figure_table(f),
            }
            for f in plan.report.figures
        ],
        focus=plan.results.focus,
        missing=[m.as_dict() for m in plan.not_run],
        figure_metric=plan.results.figure_metric,
        studies=plan.report.sections(),
    script:
        "../scripts/report.py"
