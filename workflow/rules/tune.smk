rule tune:
    """Optuna search of lambda (soft), then lambda* and theta (adaptive), on tuning replicates.

    With hyperparameters.source tuned, training jobs take its output as an input.
    """
    input:
        data=lambda w: (
            ["results/data/{dataset}/Nall.parquet"] if w.dataset in REAL else []
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
        job=tune_params,
    script:
        "../scripts/tune.py"


rule tuning:
    """Every study of the config (datasets x metrics), whichever hyper-parameters training uses."""
    input:
        expand(tuned_path("{dataset}", "{metric}"), dataset=DATASETS, metric=METRICS),
        "results/figures/tuning_history.png",


rule fig_tuning:
    """Optimisation history of every study: trial values and the best so far."""
    input:
        trials=expand(
            "results/tuned/{dataset}_{metric}.trials.csv",
            dataset=DATASETS,
            metric=METRICS,
        ),
    output:
        report("results/figures/tuning_history.png", category="Figures"),
    log:
        "logs/figures/tuning_history.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/tuning_figure.py"
