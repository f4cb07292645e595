rule train_stage0:
    """ffn (lambda 0) and soft (lambda) fits of one block of replicates, every metric, trained
    as one batch."""
    input:
        data="results/data/{dataset}/N{n}.parquet",
        tuned=tuned_inputs,
    output:
        fits=cell_files(STAGE0_METHODS, "parquet"),
        state=cell_files(STAGE0_METHODS, "pt"),
        curves=cell_files(STAGE0_METHODS, "curves.npz"),
    log:
        "logs/train/stage0_{dataset}_N{n}_block{block}.log",
    benchmark:
        "benchmarks/train/stage0_{dataset}_N{n}_block{block}.tsv"
    conda:
        CONDA_ENV
    threads: config["threads"]
    resources:
        gpu=GPU,
    params:
        job=stage0_params,
    script:
        "../scripts/train_stage0.py"


rule train_adaptive:
    """Adaptive rounds 1..floor(1/theta) of every metric, continuing from the soft fits."""
    input:
        data="results/data/{dataset}/N{n}.parquet",
        soft=cell_files(["soft"], "pt"),
        tuned=tuned_inputs,
    output:
        fits=cell_files(["adaptive"], "parquet"),
        curves=cell_files(["adaptive"], "curves.npz"),
    log:
        "logs/train/adaptive_{dataset}_N{n}_block{block}.log",
    benchmark:
        "benchmarks/train/adaptive_{dataset}_N{n}_block{block}.tsv"
    conda:
        CONDA_ENV
    threads: config["threads"]
    resources:
        gpu=GPU,
    params:
        job=rounds_params(["adaptive"], "adaptive"),
    script:
        "../scripts/train_rounds.py"


if PENALTY_FORMS:

    rule train_penalty_forms:
        """Table 7: the adaptive algorithm with the other penalty forms, at focus_size."""
        input:
            data="results/data/{dataset}/N{n}.parquet",
            soft=cell_files(["soft"], "pt"),
            tuned=tuned_inputs,
        output:
            fits=cell_files(PENALTY_FORMS, "parquet"),
            curves=cell_files(PENALTY_FORMS, "curves.npz"),
        log:
            "logs/train/penalty_forms_{dataset}_N{n}_block{block}.log",
        benchmark:
            "benchmarks/train/penalty_forms_{dataset}_N{n}_block{block}.tsv"
        wildcard_constraints:
            dataset="|".join(CASES),
            n=str(FOCUS),
        conda:
            CONDA_ENV
        threads: config["threads"]
        resources:
            gpu=GPU,
        params:
            job=rounds_params(PENALTY_FORMS, "penalty_forms"),
        script:
            "../scripts/train_rounds.py"
