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
        dataset="|".join(plan.data.cases),
        n=r"\d+",
    # before the training jobs (a second each), so that the longest training jobs, whose data
    # this is, can start first (asp.pipeline.planning.PRIORITY)
    priority: SIMULATE_PRIORITY
    conda:
        CONDA_ENV
    params:
        sim=lambda w: plan.simulate_params(w.dataset),
    script:
        "../scripts/simulate.py"


# A study that simulates data of its own (asp.studies.declaration): the replicates of one case at one value.
for _s in plan.own_data_sweeps:

    rule:
        name:
            f"simulate_{_s.study.id}"
        output:
            data=_s.data,
            checksum=_s.data.replace(".parquet", ".sha256"),
        log:
            f"logs/{_s.study.id}/simulate_{{dataset}}_N{{n}}_{_s.study.prefix}{{value}}.log",
        benchmark:
            f"benchmarks/{_s.study.id}/simulate_{{dataset}}_N{{n}}_{_s.study.prefix}{{value}}.tsv"
        wildcard_constraints:
            dataset="|".join(map(re.escape, _s.datasets)),
            n=str(_s.n),
            value="|".join(re.escape(v) for v in _s.values),
        priority: SIMULATE_PRIORITY
        conda:
            CONDA_ENV
        params:
            sim=lambda w, _s=_s: plan.simulate_params(w.dataset, w.value, _s.study.id),
        script:
            "../scripts/simulate.py"


rule floor:
    """The floor of every replicate of one case and N: the error of the true noiseless function
    on its test part (asp.data.floor)."""
    input:
        data="results/data/{dataset}/N{n}.parquet",
    output:
        "results/data/{dataset}/N{n}.floor.csv",
    log:
        "logs/floor/{dataset}_N{n}.log",
    benchmark:
        "benchmarks/floor/{dataset}_N{n}.tsv"
    wildcard_constraints:
        dataset="|".join(plan.data.cases),
        n=r"\d+",
    conda:
        CONDA_ENV
    params:
        floor=lambda w: plan.floor_params(w.dataset),
    script:
        "../scripts/floor.py"


for _s in plan.own_data_sweeps:

    rule:
        name:
            f"floor_{_s.study.id}"
        input:
            data=_s.data,
        output:
            _s.data.replace(".parquet", ".floor.csv"),
        log:
            f"logs/{_s.study.id}/floor_{{dataset}}_N{{n}}_{_s.study.prefix}{{value}}.log",
        benchmark:
            f"benchmarks/{_s.study.id}/floor_{{dataset}}_N{{n}}_{_s.study.prefix}{{value}}.tsv"
        wildcard_constraints:
            dataset="|".join(map(re.escape, _s.datasets)),
            n=str(_s.n),
            value="|".join(re.escape(v) for v in _s.values),
        conda:
            CONDA_ENV
        params:
            floor=lambda w, _s=_s: plan.floor_params(w.dataset, w.value, _s.study.id),
        script:
            "../scripts/floor.py"


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
        dataset="|".join(plan.data.real) or "^$",
    conda:
        CONDA_ENV
    params:
        entry=lambda w: plan.data.entries[w.dataset],
    script:
        "../scripts/ingest.py"
