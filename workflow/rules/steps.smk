# One rule per step of the studies with steps of their own (asp.studies.declaration.Study.steps: the CLL
# paper's Tables 1 and 2, a user's study from study_modules): the rules come from the
# declarations, and one script runs every step's function (workflow/scripts/step.py).
for _s in plan.steps:

    rule:
        name:
            _s.name
        input:
            unpack(refusing(lambda w, _s=_s: _s.inputs_at(dict(w)))),
        output:
            **{
                k: report(v, category=_s.report[k]) if k in _s.report else v
                for k, v in _s.output.items()
            },
        log:
            f"logs/{_s.tag}.log",
        benchmark:
            f"benchmarks/{_s.tag}.tsv"
        wildcard_constraints:
            **_s.constraints,
        priority: _s.priority
        conda:
            CONDA_ENV
        threads: config["threads"] if _s.threads else 1
        resources:
            gpu=1 if _s.gpu else 0,
        params:
            run=_s.run,
            args=refusing(lambda w, _s=_s: _s.params_at(dict(w))),
            modules=config["study_modules"],
        script:
            "../scripts/step.py"
