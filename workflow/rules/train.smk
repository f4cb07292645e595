# One rule per training rule of the plan (asp.pipeline.planning): the main run's simulation cases, at
# focus_size and at the other sizes, its case studies, and each study's. A job trains both
# stages of one block at every size (a study: every value) in turn, in one process. Their
# outputs come from the tables, the method registry and the study declarations: adding a
# method or a study changes the plan, never these lines.
for _r in plan.training.rules:

    rule:
        name:
            _r.name
        input:
            data=_r.inputs,
            tuned=tuned_inputs,
        output:
            **_r.outputs,
        log:
            f"logs/train/{_r.tag}.log",
        benchmark:
            f"benchmarks/train/{_r.tag}.tsv"
        wildcard_constraints:
            **_r.constraints,
        priority: _r.priority
        conda:
            CONDA_ENV
        threads: config["threads"]
        resources:
            gpu=GPU,
        params:
            jobs=lambda w, _r=_r: plan.training.jobs(_r, dict(w)),
        script:
            "../scripts/train.py"
