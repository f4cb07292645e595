"""The data: the ASP paper's simulation and its floor, the tasks of controlled correlation
(the CLL paper's eq. 2-3), the case-study files, the overlaid images and the benchmark
functions of the CLL paper's Bayesian optimisation. Built on the engine's seeds and splits."""
