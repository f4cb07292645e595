"""The experiments' jobs: the ASP paper's replicates, training jobs and tune stage, the CLL
paper's LeNet models on overlaid images and its Bayesian optimisation (particle swarm,
surrogates). Built on the engine and the data."""
