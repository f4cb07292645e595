# The relatedness study (config relatedness): every simulation case at focus_size, its tasks'
# true weights mixed at each rho; one job per (case, rho, block) trains every method.


if RHOS:

    rule simulate_relatedness:
        """The replicates of one case at relatedness rho (rho = 0: the main run's data)."""
        output:
            data="results/relatedness/rho{rho}/data/{dataset}/N{n}.parquet",
            checksum="results/relatedness/rho{rho}/data/{dataset}/N{n}.sha256",
        log:
            "logs/relatedness/simulate_{dataset}_N{n}_rho{rho}.log",
        benchmark:
            "benchmarks/relatedness/simulate_{dataset}_N{n}_rho{rho}.tsv"
        wildcard_constraints:
            dataset="|".join(CASES),
            n=str(FOCUS),
            rho="|".join(re.escape(r) for r in RHOS),
        conda:
            CONDA_ENV
        params:
            case=lambda w: SIM["cases"][w.dataset] | {"rho": float(w.rho)},
            n_inputs=SIM["n_inputs"],
            n_tasks=SIM["n_tasks"],
            replicates=REL["replicates"],
            base_seed=config["base_seed"],
        script:
            "../scripts/simulate.py"

    rule train_relatedness:
        """Every method of the study on one block of replicates: stage 0 (each network family
        one batch), then the rounds from its soft fits."""
        input:
            data="results/relatedness/rho{rho}/data/{dataset}/N{n}.parquet",
            tuned=tuned_inputs,
        output:
            fits=cell_files(REL_METHODS, "parquet", REL_ROOT, REL_METRICS),
            curves=cell_files(REL_METHODS, "curves.npz", REL_ROOT, REL_METRICS),
        log:
            "logs/relatedness/train_{dataset}_N{n}_rho{rho}_block{block}.log",
        benchmark:
            "benchmarks/relatedness/train_{dataset}_N{n}_rho{rho}_block{block}.tsv"
        wildcard_constraints:
            dataset="|".join(CASES),
            n=str(FOCUS),
            rho="|".join(re.escape(r) for r in RHOS),
        conda:
            CONDA_ENV
        threads: config["threads"]
        resources:
            gpu=GPU,
        params:
            job=training_params(REL_METHODS, "relatedness", REL_METRICS),
        script:
            "../scripts/train.py"

    rule fig_relatedness:
        """Test error against rho, per method and case."""
        input:
            table="results/tables/relatedness.csv",
        output:
            report("results/figures/fig_relatedness.png", category="Figures"),
        log:
            "logs/figures/fig_relatedness.log",
        benchmark:
            "benchmarks/figures/fig_relatedness.tsv"
        conda:
            CONDA_ENV
        params:
            study="relatedness",
        script:
            "../scripts/study_figure.py"
