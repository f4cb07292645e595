"""A step: one rule of a study that runs jobs of its own (asp.studies.declaration.Study.steps),
declared as plain data and made into a Snakemake rule by ``workflow/rules/steps.smk``, whose one
script (``workflow/scripts/step.py``) reads the step's inputs, calls its function and writes what it
returns.

A step's function takes a ``StepCall`` and returns its outputs by name: a DataFrame for a
``.parquet`` or ``.csv`` file, a mapping of arrays for ``.npz``, a matplotlib figure for
``.png``, and a list of these for an output that names several files. The script reads the
inputs the same way by extension (any other file as bytes), so the function does no file I/O.
"""

from __future__ import annotations

import pkgutil
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# The rule's inputs, parameters or constraints from its wildcards (a dict), or fixed.
ByWildcards = dict | Callable[[dict[str, str]], dict]


@dataclass(frozen=True)
class StepCall:
    """What a step's function gets: its inputs read (by name, as the rule names them), their
    paths (for messages), its parameters, its wildcards and its threads."""

    inputs: dict[str, Any]
    paths: dict[str, Any]
    params: dict[str, Any]
    wildcards: dict[str, str]
    threads: int = 1


@dataclass(frozen=True)
class Step:
    """One rule: ``run`` maps a StepCall to the outputs it writes."""

    study: str  # the study it belongs to: its logs and benchmarks go under logs/<study>/
    name: str  # the rule's name (unique in the workflow)
    # ``module:function`` of what it runs, a function of a StepCall returning its outputs: the
    # job's script imports it, so that planning imports none of what the jobs need (torch)
    run: str
    output: dict[str, str | list[str]]  # path templates by name
    input: ByWildcards = field(default_factory=dict)
    params: ByWildcards = field(default_factory=dict)
    constraints: dict[str, str] = field(default_factory=dict)  # of its wildcards
    # Outputs the Snakemake report lists, by name -> category
    report: dict[str, str] = field(default_factory=dict)
    threads: bool = False  # the config's threads (a training job), else 1
    gpu: bool = False  # it asks for the GPU resource
    priority: int = 0

    @property
    def tag(self) -> str:
        """Its logs' and benchmarks' path, without the extension: a folder per study and step,
        a file per job named by the wildcards of its outputs joined by _ (or the step's name
        when it has none)."""
        names = _wildcards(" ".join(_paths(self.output)))
        if not names:
            return f"{self.study}/{self.name}"
        return f"{self.study}/{self.name}/" + "_".join(f"{{{w}}}" for w in names)

    def inputs_at(self, wildcards: dict[str, str]) -> dict:
        return self.input(wildcards) if callable(self.input) else dict(self.input)

    def params_at(self, wildcards: dict[str, str]) -> dict:
        return self.params(wildcards) if callable(self.params) else dict(self.params)


def _paths(files: dict[str, str | list[str]]) -> list[str]:
    return [p for v in files.values() for p in ([v] if isinstance(v, str) else v)]


def _wildcards(pattern: str) -> list[str]:
    """The wildcards of a path template (a Snakemake wildcard is a format field, its
    constraint after a comma), in order of first appearance."""
    fields = (f.split(",")[0] for _, f, _, _ in string.Formatter().parse(pattern) if f)
    return list(dict.fromkeys(fields))


def resolve(function: str) -> Callable[[StepCall], dict[str, Any]]:
    """A step's function from its ``module:name`` (Step.run)."""
    return pkgutil.resolve_name(function)
