rule tune:
    """Optuna search of lambda (soft), then lambda* and theta (adaptive), on tuning replicates.
    With hyperparameters.source tuned, training jobs take its output as an input.
    """
    input:
        data=lambda w: (
            ["results/data/{dataset}/Nall.parquet"]
            if w.dataset in plan.data.real
            else []
        ),
    output:
        values="results/tuned/{dataset}_{metric}.yaml",
        trials="results/tuned/{dataset}_{metric}.trials.csv",
    log:
        "logs/tune/{dataset}_{metric}.log",
    benchmark:
        "benchmarks/tune/{dataset}_{metric}.tsv"
    conda:
        CONDA_ENV
    threads: config["threads"]
    resources:
        gpu=GPU,
    params:
        job=lambda w: plan.tuning.tune_job(w.dataset, w.metric),
    script:
        "../scripts/tune.py"


rule tuning:
    """Every study of the config (datasets x metrics), whichever hyper-parameters training uses."""
    input:
        [
            plan.tuning.tuned_path(d, m)
            for d in plan.data.present
            for m in plan.results.metrics
        ],
        "results/figures/tuning_history.png",


rule fig_tuning:
    """Optimisation history of every study: trial values and the best so far."""
    input:
        trials=[
            f"results/tuned/{d}_{m}.trials.csv"
            for d in plan.tuning.figure_datasets
            for m in plan.results.metrics
        ],
    output:
        report("results/figures/tuning_history.png", category="Figures"),
    log:
        "logs/figures/tuning_history.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/tuning_figure.py"
