rule simulate:
    """All replicates of one simulation case and sample size (paper eq. 3.2)."""
    output:
        data="results/data/{dataset}/N{n}.parquet",
        checksum="results/data/{dataset}/N{n}.sha256",
    params:
        case=lambda w: SIM["cases"][w.dataset],
        n_inputs=SIM["n_inputs"],
        n_tasks=SIM["n_tasks"],
        replicates=config["replicates"],
        base_seed=config["base_seed"],
    log:
        "logs/simulate/{dataset}_N{n}.log",
    script:
        "../scripts/simulate.py"
