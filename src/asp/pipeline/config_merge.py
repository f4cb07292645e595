"""How configuration files combine: every ``--configfile`` (and ``--config``) merges over
``config.yaml`` as Snakemake merges them, and one rule of ours on top.

- Mappings merge key by key; lists and scalars replace. So ``replicates: 3`` alone changes the
  replicates and nothing else, and ``cll_rbf: {ps: []}`` leaves that study out.
- An empty mapping replaces too (ours): Snakemake's merge would keep every key of the mapping
  below it, so ``case_studies: {sets: {}}`` could not say "no case studies", nor
  ``simulation: {cases: {}}`` "no main run".

The workflow (``workflow/rules/common.smk``) and the readers outside Snakemake (the tests)
merge with :func:`merged`: file by file, as Snakemake does, with the empty-mapping rule.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping


def emptied(overlay: Mapping, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """The key paths at which ``overlay`` holds an empty mapping."""
    for key, value in overlay.items():
        if isinstance(value, Mapping):
            if not value:
                yield (*path, key)
            else:
                yield from emptied(value, (*path, key))


def clear_emptied(config: dict, overlay: Mapping) -> None:
    """Set every key path that ``overlay`` empties to ``{}`` in ``config`` (in place), after a
    key-by-key merge that kept what was below it."""
    for path in emptied(overlay):
        node = config
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = {}


def _merge(config: dict, overlay: Mapping) -> None:
    for key, value in overlay.items():
        if isinstance(value, Mapping) and isinstance(config.get(key), dict):
            _merge(config[key], value)
        else:
            config[key] = copy.deepcopy(value)


def merged(base: Mapping, *overlays: Mapping) -> dict:
    """``base`` with each overlay merged over it in turn, as the workflow merges
    ``--configfile`` files over ``config.yaml`` (a new dict; the arguments are unchanged)."""
    config = copy.deepcopy(dict(base))
    for overlay in overlays:
        _merge(config, overlay)
        clear_emptied(config, overlay)
    return config
