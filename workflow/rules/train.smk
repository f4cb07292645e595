# The training rules come from the method registry (asp.methods, see common.smk): adding a
# method changes the outputs of these rules, never the rules.


rule train_stage0:
    """Stage-0 methods (from scratch) of one block of replicates, every metric, one batch."""
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
        job=training_params(STAGE0_METHODS, "stage0"),
    script:
        "../scripts/train.py"


rule train_rounds:
    """Rounds methods needed at every N (the adaptive family of Tables 1-4, 8-11), every
    metric, continuing from the stage-0 fits they start from."""
    input:
        data="results/data/{dataset}/N{n}.parquet",
        start=cell_files(starts_of(ROUNDS_EVERY), "pt"),
        tuned=tuned_inputs,
    output:
        fits=cell_files(ROUNDS_EVERY, "parquet"),
        curves=cell_files(ROUNDS_EVERY, "curves.npz"),
    log:
        "logs/train/rounds_{dataset}_N{n}_block{block}.log",
    benchmark:
        "benchmarks/train/rounds_{dataset}_N{n}_block{block}.tsv"
    conda:
        CONDA_ENV
    threads: config["threads"]
    resources:
        gpu=GPU,
    params:
        job=training_params(ROUNDS_EVERY, "rounds"),
    script:
        "../scripts/train.py"


if ROUNDS_FOCUS:

    rule train_rounds_focus:
        """Rounds methods needed at focus_size only (Table 7's penalty forms)."""
        input:
            data="results/data/{dataset}/N{n}.parquet",
            start=cell_files(starts_of(ROUNDS_FOCUS), "pt"),
            tuned=tuned_inputs,
        output:
            fits=cell_files(ROUNDS_FOCUS, "parquet"),
            curves=cell_files(ROUNDS_FOCUS, "curves.npz"),
        log:
            "logs/train/rounds_focus_{dataset}_N{n}_block{block}.log",
        benchmark:
            "benchmarks/train/rounds_focus_{dataset}_N{n}_block{block}.tsv"
        wildcard_constraints:
            dataset="|".join(CASES),
            n=str(FOCUS),
        conda:
            CONDA_ENV
        threads: config["threads"]
        resources:
            gpu=GPU,
        params:
            job=training_params(ROUNDS_FOCUS, "rounds_focus"),
        script:
            "../scripts/train.py"
