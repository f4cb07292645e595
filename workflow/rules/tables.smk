for _k in TABLES:

    rule:
        name:
            f"table{_k}"
        input:
            fits=table_inputs(_k),
            paper="data/paper/paper_tables.csv",
            tuned=tuned_table_inputs(_k),
        output:
            table=report(f"results/tables/table{_k}.csv", category="Tables"),
            claims=f"results/tables/table{_k}_claims.csv",
        log:
            f"logs/tables/table{_k}.log",
        benchmark:
            f"benchmarks/tables/table{_k}.tsv"
        conda:
            CONDA_ENV
        params:
            table=_k,
            metric=TABLE_METRIC.get(_k),
            focus_size=FOCUS,
        script:
            "../scripts/table.py"
