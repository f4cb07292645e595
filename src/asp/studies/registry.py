"""Every declared study, and the lookups that need them all (a study, a table, the findings):
importing this module registers the package's (our sweeps, the CLL paper's Figure 8, then its
Table 2 and Table 1, in the report's order), and ``load_study_modules`` those of the Python
files a config names under ``study_modules``: a user's own studies, declared with
asp.studies.declaration.register like the package's."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from asp.studies import bayesopt, cll_images, cll_rbf, sweeps  # noqa: F401 (they register)
from asp.studies.declaration import (
    STUDIES,
    all_findings,
    as_study_rows,
    build_table,
    get_study,
    get_table,
    table_param,
    table_spec,
)

__all__ = [
    "STUDIES",
    "all_findings",
    "as_study_rows",
    "build_table",
    "get_study",
    "get_table",
    "load_study_modules",
    "table_param",
    "table_spec",
]

# The package's studies in the report's order, whichever module was imported first; a user's
# come after them, in the order their modules register them.
ORDER = ("budget", "relatedness", "cll_rbf", "bayesopt", "cll_images")
for _id in [*ORDER, *(k for k in list(STUDIES) if k not in ORDER)]:
    STUDIES[_id] = STUDIES.pop(_id)


def load_study_modules(paths: list[str]) -> None:
    """Import each file once, as a module named by its stem (a step's ``module:function``
    names it so, asp.studies.steps.Step.run); its ``register`` calls declare its studies."""
    for path in paths:
        file = Path(path)
        if not file.is_file():
            raise ValueError(f"study_modules: {path}: no such file")
        name = file.stem
        loaded = sys.modules.get(name)
        if loaded is not None:
            if Path(getattr(loaded, "__file__", "") or "").resolve() != file.resolve():
                raise ValueError(
                    f"study_modules: {path}: a module named {name!r} is already imported"
                )
            continue
        spec = importlib.util.spec_from_file_location(name, file)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise
