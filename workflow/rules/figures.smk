# One rule per figure of this config (asp.catalog): the paper's numbers where declared,
# fig_<case> for a simulation case the paper does not have.
for _fig in FIGURES:
    _n = FIGURE_N(_fig)

    rule:
        name:
            _fig.id
        input:
            soft=expand(
                "results/fits/{case}/N{n}/{metric}/{method}/block{block}.curves.npz",
                case=_fig.dataset,
                n=_n,
                metric=FIGURE_METRIC,
                method=FIGURE_METHODS[0],
                block=BLOCKS,
            ),
            adaptive=expand(
                "results/fits/{case}/N{n}/{metric}/{method}/block{block}.curves.npz",
                case=_fig.dataset,
                n=_n,
                metric=FIGURE_METRIC,
                method=FIGURE_METHODS[1],
                block=BLOCKS,
            ),
        output:
            report(f"results/figures/{_fig.id}.png", category="Figures"),
        log:
            f"logs/figures/{_fig.id}.log",
        benchmark:
            f"benchmarks/figures/{_fig.id}.tsv"
        conda:
            CONDA_ENV
        params:
            title=f"{_fig.label}: {_fig.dataset}, N={_n}, validation "
            f"{FIGURE_METRIC.upper()} after the soft minimum",
            metric=FIGURE_METRIC,
        script:
            "../scripts/figure.py"
