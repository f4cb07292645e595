# One rule per training rule of the plan (asp.planning): the main run's stage 0, rounds and
# focus-size rounds, and one per study. Their outputs come from the method registry and the
# study declarations: adding a method or a study changes the plan, never these lines.
for _r in plan.training_rules:

    rule:
        name:
            _r.name
        input:
            data=_r.data,
            start=_r.start_files,
            tuned=tuned_inputs,
        output:
            **_r.outputs,
        log:
            f"logs/train/{_r.tag}.log",
        benchmark:
            f"benchmarks/train/{_r.tag}.tsv"
        wildcard_constraints:
            **_r.constraints,
        conda:
            CONDA_ENV
        threads: config["threads"]
        resources:
            gpu=GPU,
        params:
            job=lambda w, _r=_r: plan.training_job(_r, dict(w)),
        script:
            "../scripts/train.py"
