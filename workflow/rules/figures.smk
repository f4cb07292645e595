for _fig, _case in FIGURES.items():

    rule:
        name:
            f"fig{_fig}"
        input:
            soft=expand(
                "results/fits/{case}/N{n}/mse/soft/block{block}.curves.npz",
                case=_case,
                n=FOCUS,
                block=BLOCKS,
            ),
            adaptive=expand(
                "results/fits/{case}/N{n}/mse/adaptive/block{block}.curves.npz",
                case=_case,
                n=FOCUS,
                block=BLOCKS,
            ),
        output:
            report(f"results/figures/fig{_fig}.png", category="Figures"),
        params:
            title=f"Figure {_fig}: {_case}, N={FOCUS}, validation MSE after the soft minimum",
        log:
            f"logs/figures/fig{_fig}.log",
        script:
            "../scripts/figure.py"
