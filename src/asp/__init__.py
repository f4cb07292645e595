"""Adaptive soft parameter sharing (Wang, Jin, Du, Zhang 2024): the science, no I/O."""

__version__ = "0.2.0"
