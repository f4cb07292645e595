# One rule per table declared in asp.catalog that this config has.
for _spec in TABLES:

    rule:
        name:
            _spec.id
        input:
            fits=table_inputs(_spec),
            paper="data/paper/paper_tables.csv",
            tuned=tuned_table_inputs(_spec),
        output:
            table=report(f"results/tables/{_spec.id}.csv", category="Tables"),
            claims=f"results/tables/{_spec.id}_claims.csv",
        log:
            f"logs/tables/{_spec.id}.log",
        benchmark:
            f"benchmarks/tables/{_spec.id}.tsv"
        conda:
            CONDA_ENV
        params:
            table=_spec.id,
            methods=table_methods(_spec),
        script:
            "../scripts/table.py"
