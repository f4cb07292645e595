"""The engine: the fused training step and its native rounds, the trainer and the adaptive
rounds, the network families, penalties, methods, metrics, preprocessing, seeds and progress.
It imports nothing else of the package."""
