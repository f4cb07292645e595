# One rule per figure of this config (asp.analysis.catalog): the paper's numbers where declared,
# fig_<case> for a simulation case the paper does not have.
for _fig in plan.results.figures:

    rule:
        name:
            _fig.id
        input:
            **plan.results.figure_inputs(_fig),
        output:
            report(f"results/figures/{_fig.id}.png", category="Figures"),
        log:
            f"logs/figures/{_fig.id}.log",
        benchmark:
            f"benchmarks/figures/{_fig.id}.tsv"
        conda:
            CONDA_ENV
        params:
            title=f"{_fig.label}: {_fig.dataset}, N={plan.results.figure_n(_fig)}, validation "
            f"{plan.results.figure_metric.upper()} after the soft minimum",
            metric=plan.results.figure_metric,
        script:
            "../scripts/figure.py"


# A study's figure (asp.studies.declaration): its table's mean test loss against its variable, or the
# validation curves of its methods at each value.
for _s in plan.sweeps.values():

    rule:
        name:
            _s.study.figure
        input:
            table=f"results/tables/{_s.study.id}.csv",
            curves=plan.results.study_curves(_s.study.id),
        output:
            report(f"results/figures/{_s.study.figure}.png", category="Figures"),
        log:
            f"logs/figures/{_s.study.figure}.log",
        benchmark:
            f"benchmarks/figures/{_s.study.figure}.tsv"
        conda:
            CONDA_ENV
        params:
            study=_s.study.id,
            curves=plan.results.study_curve_params(_s.study.id),
            modules=config["study_modules"],
        script:
            "../scripts/study_figure.py"
