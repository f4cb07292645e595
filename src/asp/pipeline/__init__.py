"""The pipeline: the configuration and its checks, the plan of every job a configuration asks
for, and the report's rendering. The workflow (``Snakefile``, ``workflow/``) wires rules to it."""
