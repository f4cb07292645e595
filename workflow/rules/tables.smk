# One rule per table of the plan: the paper's tables this config has (asp.analysis.catalog) and each
# study's (asp.studies.declaration).
for _spec in plan.results.tables:

    rule:
        name:
            _spec.id
        input:
            fits=plan.results.table_inputs(_spec),
            paper="data/paper/paper_tables.csv",
            tuned=plan.results.tuned_table_inputs(_spec),
            floor=plan.results.floor_inputs(_spec),
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
            table=table_param(_spec),
            methods=plan.results.table_methods(_spec),
            reused=plan.results.reuse_labels(_spec),
            modules=config["study_modules"],
        script:
            "../scripts/table.py"
