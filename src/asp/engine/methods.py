"""The compared methods: one registry that the workflow, the tables and the trainer all read.

Adding a method is one ``register(Method(...))`` here (plus a module in ``asp.engine.networks`` when
it needs a new network shape). A training job trains both stages of the methods its tables read
(asp.pipeline.planning): a ``stage0`` method trains from scratch; a ``rounds`` method continues from
the stage-0 fits of the method it ``starts_from`` with the adaptive rounds. The config's method
lists (checked against this registry at start-up) say which tables a method appears in.
"""

from __future__ import annotations

from dataclasses import dataclass

STAGES = ("stage0", "rounds")
HYPERPARAMETERS = ("lambda", "lambda_star", "theta")
# How lambda* follows the rounds (docs/method.md §4); here, not in asp.engine.adaptive, so that
# reading the registry (the tables, the planning) does not import torch.
SCHEDULES = ("constant", "proportional")


@dataclass(frozen=True)
class Method:
    name: str
    description: str
    stage: str  # "stage0": trained from scratch; "rounds": adaptive rounds from ``starts_from``
    # The config values the method trains with, of HYPERPARAMETERS. A stage-0 method without
    # "lambda" trains with coefficient 0 (independent networks).
    hyperparameters: tuple[str, ...] = ()
    network: str = "per_task_mlp"  # network family (asp.engine.networks)
    # Sharing penalty of stage 0, at coefficient lambda (None: the family shares by its shape)
    stage0_penalty: str | None = "mean_squared"
    source: str = "the paper"  # where the method comes from (the README's list of methods)
    in_paper: bool = True  # False: beyond the paper (marked so in its tables)
    round_penalty: str | None = None  # penalty the rounds prune and apply at lambda*
    starts_from: str | None = None  # the stage-0 method whose fits the rounds continue
    beats: tuple[str, ...] = ()  # claims: lower test loss than these methods
    prunes: bool = True  # rounds delete penalty terms (False: every term stays)
    round_coefficient: str = "lambda_star"  # the rounds' penalty coefficient (or "lambda")
    # A matched-budget control: each fit runs exactly as many rounds, of exactly as many
    # epochs, as its twin of this (rounds) method, in the same job.
    matches: str | None = None

    def __post_init__(self) -> None:
        if self.stage not in STAGES:
            raise ValueError(f"method {self.name}: stage must be one of {STAGES}")
        unknown = set(self.hyperparameters) - set(HYPERPARAMETERS)
        if unknown:
            raise ValueError(f"method {self.name}: unknown hyper-parameters {sorted(unknown)}")
        rounds = self.stage == "rounds"
        if rounds != (self.round_penalty is not None) or rounds != (self.starts_from is not None):
            raise ValueError(
                f"method {self.name}: a rounds method needs round_penalty and starts_from, "
                "a stage0 method has neither"
            )
        if rounds and set(HYPERPARAMETERS) - set(self.hyperparameters):
            raise ValueError(f"method {self.name}: rounds need lambda, lambda_star and theta")
        if self.round_coefficient not in ("lambda", "lambda_star"):
            raise ValueError(f"method {self.name}: round_coefficient is lambda or lambda_star")
        if self.stage0_penalty is None and "lambda" in self.hyperparameters:
            raise ValueError(f"method {self.name}: lambda needs a stage-0 penalty")
        if self.matches is not None and not rounds:
            raise ValueError(f"method {self.name}: only a rounds method matches another")

    @property
    def adaptive(self) -> bool:
        return self.stage == "rounds"


METHODS: dict[str, Method] = {}


def register(method: Method) -> Method:
    """Add ``method`` to the registry; a name already taken is an error."""
    if method.name in METHODS:
        raise ValueError(f"method {method.name!r} is registered twice")
    if method.starts_from is not None and get_method(method.starts_from).stage != "stage0":
        raise ValueError(f"method {method.name}: starts_from must name a stage0 method")
    if method.matches is not None:
        twin = get_method(method.matches)
        if twin.stage != "rounds" or twin.matches or twin.starts_from != method.starts_from:
            raise ValueError(
                f"method {method.name}: matches must name an unmatched rounds method that "
                "starts from the same stage-0 method"
            )
    METHODS[method.name] = method
    return method


def get_method(name: str) -> Method:
    try:
        return METHODS[name]
    except KeyError:
        raise ValueError(f"unknown method {name!r}; known: {sorted(METHODS)}") from None


def claim_pairs(methods: list[str]) -> list[tuple[str, str]]:
    """The ordering claims (a, b) = "a has lower test loss than b" among ``methods``: those
    the registry declares, later-registered methods first (the paper's headline claim leads)."""
    return [
        (m.name, other)
        for m in reversed(METHODS.values())
        if m.name in methods
        for other in m.beats
        if other in methods
    ]


register(Method("ffn", "K independent single-task networks (lambda = 0)", "stage0"))
register(
    Method(
        "soft",
        "soft sharing: squared deviation from the task mean",
        "stage0",
        hyperparameters=("lambda",),
        beats=("ffn",),
    )
)
_ROUNDS = {"stage": "rounds", "hyperparameters": HYPERPARAMETERS, "starts_from": "soft"}
register(
    Method(
        "adaptive",
        "adaptive rounds, squared deviation from the mean (the paper's method)",
        round_penalty="mean_squared",
        beats=("soft", "soft_extended", "l2_only", "mean_only"),
        **_ROUNDS,
    )
)
register(
    Method(
        "soft_extended",
        "soft continued at the same lambda, nothing pruned, for exactly the rounds and epochs "
        "of its adaptive twin (the matched-budget control)",
        round_penalty="mean_squared",
        prunes=False,
        round_coefficient="lambda",
        matches="adaptive",
        source="ours: the matched-budget control of adaptive's rounds",
        in_paper=False,
        **_ROUNDS,
    )
)
register(
    Method(
        "l2_only",
        "adaptive rounds, pairwise squared (Duong)",
        round_penalty="pairwise_squared",
        **_ROUNDS,
    )
)
register(
    Method(
        "mean_only",
        "adaptive rounds, absolute deviation from the mean",
        round_penalty="mean_absolute",
        **_ROUNDS,
    )
)


# Baselines beyond the paper: multi-task networks that share by their shape, no penalty.
_BASELINE = {"stage": "stage0", "stage0_penalty": None, "in_paper": False}
register(
    Method(
        "hard",
        "hard sharing: hidden layers shared by the tasks, one output head per task",
        network="hard_sharing",
        source="Caruana 1997; the multi-task overviews (hard parameter sharing)",
        **_BASELINE,
    )
)
register(
    Method(
        "cross_stitch",
        "per-task networks mixed by a learned K x K cross-stitch unit after each hidden layer",
        network="cross_stitch",
        source="Misra et al. 2016; the multi-task overviews",
        **_BASELINE,
    )
)
register(
    Method(
        "cll",
        "per-task networks followed by a correlation learning layer (K -> K, linear)",
        network="cll",
        source="Xu, Luo, Li et al. 2023 (the CLL paper, MultiRBF+)",
        **_BASELINE,
    )
)
register(
    Method(
        "cll_leaky",
        "the correlation learning layer with a LeakyReLU",
        network="cll_leaky",
        source="Xu, Luo, Li et al. 2023 (the CLL paper, MultiRBF+ReLU)",
        **_BASELINE,
    )
)


# The CLL paper's RBF models (Xu, Luo, Li et al. 2023, §1.2.2 and §3.2; asp.engine.networks.rbf) and
# ours on its RBF networks. Their claims at every task correlation: each multi-task model beats
# SingleRBF, MultiRBF+ beats MultiRBF; the study (asp.studies.declaration) adds those that hold at
# one correlation, or across them.
_XU = "Xu, Luo, Li et al. 2023 (the CLL paper)"
_RBF = {"stage": "stage0", "in_paper": False}
register(
    Method(
        "single_rbf",
        "one Gaussian RBF network per task (SingleRBF)",
        network="per_task_rbf",
        source=f"{_XU}: SingleRBF",
        **_RBF,
    )
)
register(
    Method(
        "multi_rbf",
        "a layer of Gaussian units shared by the tasks, one output layer per task (MultiRBF)",
        network="shared_rbf",
        stage0_penalty=None,
        source=f"{_XU}: MultiRBF, the traditional multi-task RBF network (our reading: hard "
        "sharing)",
        beats=("single_rbf",),
        **_RBF,
    )
)
register(
    Method(
        "multi_rbf_cll",
        "RBF networks, one per task, and a correlation learning layer (MultiRBF+)",
        network="rbf_cll",
        stage0_penalty=None,
        source=f"{_XU}: MultiRBF+",
        beats=("multi_rbf", "single_rbf"),
        **_RBF,
    )
)
register(
    Method(
        "multi_rbf_cll_leaky",
        "MultiRBF+ with a LeakyReLU on the correlation layer (MultiRBF+ReLU)",
        network="rbf_cll_leaky",
        stage0_penalty=None,
        source=f"{_XU}: MultiRBF+ReLU",
        beats=("single_rbf",),
        **_RBF,
    )
)
register(
    Method(
        "bay_mrbfcor",
        "RBF networks, one per task, and two correlation layers with LeakyReLU (Bay_MRBFCor, "
        "the CLL paper's surrogate of Bayesian optimisation)",
        network="rbf_cll2_leaky",
        stage0_penalty=None,
        source=f"{_XU}: Bay_MRBFCor",
        **_RBF,
    )
)
register(
    Method(
        "rbf_soft",
        "soft sharing of the RBF networks' output weights and centres (ours on the CLL "
        "paper's networks)",
        network="per_task_rbf",
        hyperparameters=("lambda",),
        source="ours: the paper's soft sharing on the CLL paper's RBF networks",
        beats=("single_rbf",),
        **_RBF,
    )
)
register(
    Method(
        "rbf_adaptive",
        "adaptive rounds from rbf_soft (ours: the paper's method on the CLL paper's networks)",
        stage="rounds",
        hyperparameters=HYPERPARAMETERS,
        starts_from="rbf_soft",
        round_penalty="mean_squared",
        network="per_task_rbf",
        source="ours: the paper's adaptive sharing on the CLL paper's RBF networks",
        in_paper=False,
        beats=("rbf_soft",),
    )
)


@dataclass(frozen=True)
class HyperParams:
    """lambda (soft / round 0), lambda* and theta (rounds), and how lambda* changes over rounds."""

    lam: float
    lam_star: float
    theta: float
    schedule: str = "constant"

    def __post_init__(self) -> None:
        if self.lam < 0 or self.lam_star < 0:
            raise ValueError(f"lambda and lambda* must be >= 0: {self}")
        if not 0 < self.theta <= 1:
            raise ValueError(f"theta must be in (0, 1]: {self}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}: {self}")


def cell(metric: str, method: str, values: dict | None, source: str = "paper") -> dict:
    """One cell of a job: the metric, the method, and the hyper-parameters the method trains
    with (``asp.engine.methods``), taken from ``values`` (lambda, lambda_star, theta) or, when
    ``values`` is None, named for ``with_tuned_values`` to fill in from the tune stage."""
    keys = list(get_method(method).hyperparameters)
    if not keys:  # independent networks: no sharing penalty
        return {"metric": metric, "method": method, "hyperparameters": "none", "lambda": 0.0}
    if values is None:
        return {
            "metric": metric,
            "method": method,
            "hyperparameters": "tuned",
            "from_tuned_file": keys,
        }
    return {
        "metric": metric,
        "method": method,
        "hyperparameters": source,
        **{k: values[k] for k in keys},
    }


def split_stages(methods) -> tuple[list[str], list[str]]:
    """(stage-0 methods, rounds methods) that train ``methods``: the stage-0 ones include
    those the rounds methods start from, the rounds ones the twins of matched-budget methods
    (which train in their twin's job); both in registry order."""
    methods = set(methods) | {get_method(m).matches for m in methods} - {None}
    rounds = [m for m in METHODS if m in methods and METHODS[m].adaptive]
    stage0 = {m for m in methods if not get_method(m).adaptive}
    stage0 |= {METHODS[m].starts_from for m in rounds}
    return [m for m in METHODS if m in stage0], rounds
