for _fig, (_case, _n) in FIGURES.items():

    rule:
        name:
            f"fig{_fig}"
        input:
            soft=expand(
                "results/fits/{case}/N{n}/mse/soft/block{block}.curves.npz",
                case=_case,
                n=_n,
                block=BLOCKS,
            ),
            adaptive=expand(
                "results/fits/{case}/N{n}/mse/adaptive/block{block}.curves.npz",
                case=_case,
                n=_n,
                block=BLOCKS,
            ),
        output:
            report(f"results/figures/fig{_fig}.png", category="Figures"),
        log:
            f"logs/figures/fig{_fig}.log",
        benchmark:
            f"benchmarks/figures/fig{_fig}.tsv"
        conda:
            CONDA_ENV
        params:
            title=f"Figure {_fig}: {_case}, N={_n}, validation MSE after the soft minimum",
        script:
            "../scripts/figure.py"
