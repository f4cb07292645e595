# The budget study (config budget_study): stage 0 with each epoch budget, then the rounds, at
# focus_size in every simulation case. Same script and job layout as the main training rules.


if BUDGETS:

    rule budget_stage0:
        """Stage-0 methods of the budget study with at most {epochs} epochs."""
        input:
            data="results/data/{dataset}/N{n}.parquet",
            tuned=tuned_inputs,
        output:
            fits=cell_files(BUDGET_STAGE0, "parquet", BUDGET_ROOT),
            state=cell_files(BUDGET_STAGE0, "pt", BUDGET_ROOT),
            curves=cell_files(BUDGET_STAGE0, "curves.npz", BUDGET_ROOT),
        log:
            "logs/budget/stage0_{dataset}_N{n}_E{epochs}_block{block}.log",
        benchmark:
            "benchmarks/budget/stage0_{dataset}_N{n}_E{epochs}_block{block}.tsv"
        wildcard_constraints:
            dataset="|".join(CASES),
            n=str(FOCUS),
            epochs="|".join(map(str, BUDGETS)),
        conda:
            CONDA_ENV
        threads: config["threads"]
        resources:
            gpu=GPU,
        params:
            job=training_params(BUDGET_STAGE0, "budget_stage0"),
        script:
            "../scripts/train.py"

    rule budget_rounds:
        """Rounds methods of the budget study, from its stage-0 fits."""
        input:
            data="results/data/{dataset}/N{n}.parquet",
            start=cell_files(starts_of(BUDGET_ROUNDS), "pt", BUDGET_ROOT),
            tuned=tuned_inputs,
        output:
            fits=cell_files(BUDGET_ROUNDS, "parquet", BUDGET_ROOT),
            curves=cell_files(BUDGET_ROUNDS, "curves.npz", BUDGET_ROOT),
        log:
            "logs/budget/rounds_{dataset}_N{n}_E{epochs}_block{block}.log",
        benchmark:
            "benchmarks/budget/rounds_{dataset}_N{n}_E{epochs}_block{block}.tsv"
        wildcard_constraints:
            dataset="|".join(CASES),
            n=str(FOCUS),
            epochs="|".join(map(str, BUDGETS)),
        conda:
            CONDA_ENV
        threads: config["threads"]
        resources:
            gpu=GPU,
        params:
            job=training_params(BUDGET_ROUNDS, "budget_rounds"),
        script:
            "../scripts/train.py"

    rule fig_budget:
        """Test metric against the stage-0 budget, per method and case."""
        input:
            table="results/tables/budget.csv",
        output:
            report("results/figures/fig_budget.png", category="Figures"),
        log:
            "logs/figures/fig_budget.log",
        benchmark:
            "benchmarks/figures/fig_budget.tsv"
        conda:
            CONDA_ENV
        params:
            study="budget",
        script:
            "../scripts/study_figure.py"
