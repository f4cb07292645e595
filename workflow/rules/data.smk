rule simulate:
    """All replicates of one simulation case and sample size (paper eq. 3.2)."""
    output:
        data="results/data/{dataset}/N{n}.parquet",
        checksum="results/data/{dataset}/N{n}.sha256",
    log:
        "logs/simulate/{dataset}_N{n}.log",
    benchmark:
        "benchmarks/simulate/{dataset}_N{n}.tsv"
    wildcard_constraints:
        dataset="|".join(CASES),
        n=r"\d+",
    conda:
        CONDA_ENV
    params:
        case=lambda w: SIM["cases"][w.dataset],
        n_inputs=SIM["n_inputs"],
        n_tasks=SIM["n_tasks"],
        replicates=config["replicates"],
        base_seed=config["base_seed"],
    script:
        "../scripts/simulate.py"


rule ingest:
    """Check and parse one case-study file (paper §4) into the layout of the simulated data."""
    input:
        raw=raw_file,
    output:
        data="results/data/{dataset}/Nall.parquet",
        provenance="results/data/{dataset}/Nall.json",
    log:
        "logs/ingest/{dataset}.log",
    benchmark:
        "benchmarks/ingest/{dataset}.tsv"
    wildcard_constraints:
        dataset="|".join(REAL) or "^$",
    conda:
        CONDA_ENV
    script:
        "../scripts/ingest.py"
