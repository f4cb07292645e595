rule train_stage0:
    """ffn (lambda 0) and soft (lambda) fits of one block of replicates, trained as one batch."""
    input:
        data="results/data/{dataset}/N{n}.parquet",
        tuned=tuned_input,
    output:
        fits="results/fits/{dataset}/N{n}/{metric}/{method}/block{block}.parquet",
        state="results/fits/{dataset}/N{n}/{metric}/{method}/block{block}.pt",
        curves="results/fits/{dataset}/N{n}/{metric}/{method}/block{block}.curves.npz",
    log:
        "logs/train/{dataset}_N{n}_{metric}_{method}_block{block}.log",
    benchmark:
        "benchmarks/train/{dataset}_N{n}_{metric}_{method}_block{block}.tsv"
    wildcard_constraints:
        method="ffn|soft",
    conda:
        CONDA_ENV
    threads: config["threads"]
    resources:
        gpu=GPU,
    params:
        job=stage0_params,
    script:
        "../scripts/train_stage0.py"


rule train_rounds:
    """Adaptive-family fits: rounds 1..floor(1/theta) continuing from the soft job's weights."""
    input:
        data="results/data/{dataset}/N{n}.parquet",
        soft="results/fits/{dataset}/N{n}/{metric}/soft/block{block}.pt",
        tuned=tuned_input,
    output:
        fits="results/fits/{dataset}/N{n}/{metric}/{method}/block{block}.parquet",
        curves="results/fits/{dataset}/N{n}/{metric}/{method}/block{block}.curves.npz",
    log:
        "logs/train/{dataset}_N{n}_{metric}_{method}_block{block}.log",
    benchmark:
        "benchmarks/train/{dataset}_N{n}_{metric}_{method}_block{block}.tsv"
    wildcard_constraints:
        method="adaptive|l2_only|mean_only",
    conda:
        CONDA_ENV
    threads: config["threads"]
    resources:
        gpu=GPU,
    params:
        job=rounds_params,
    script:
        "../scripts/train_rounds.py"
