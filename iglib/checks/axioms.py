"""The paper's axioms (section 2 of ig-reference.md) as executable checks.

Each check takes ANY attribution method ``attribute`` called as

    attribute(model, inputs, baselines=None, target=None)  ->  attributions shaped like inputs

plus a witness (model, x, x', ...), and returns an ``AxiomResult``: whether the axiom
holds on that witness, a one-line reason, and the numbers compared. A check first makes
sure the witness satisfies the axiom's premise (the features really differ in one place,
the two networks really compute the same function, F really is symmetric, ...) and
raises a ValueError if not: a bad witness says nothing about the method.

- Sensitivity(a): x and x' differ in one feature and F(x) != F(x')  =>  that a_k != 0.
- Sensitivity(b): F does not depend on x_k  =>  a_k = 0.
- Implementation invariance: F_f = F_g everywhere  =>  A_f(x, x') = A_g(x, x').
- Completeness: sum_i a_i = F(x) - F(x').
- Linearity: A_{a F1 + b F2} = a A_F1 + b A_F2.
- Symmetry preservation: F symmetric in x_i, x_j, x_i = x_j, x'_i = x'_j  =>  a_i = a_j.

Tolerances are explicit parameters. ``tol`` is relative to the scale of the numbers
compared, max(|F(x) - F(x')|, max_k |a_k|) per example; completeness takes ``rtol``
relative to |F(x) - F(x')| (default 5%, the paper's rule for choosing IG's steps) and an
``atol``. ``paper_witnesses`` lists the paper's counterexamples as witnesses and
``axiom_table`` runs every check on every attribution method.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import torch
from torch import Tensor, nn

from .. import toys
from ..arguments import TargetLike, check_count, check_model, check_number, quote
from ..forward import Score, prepare

AttributionMethod = Callable[..., Tensor]  # attribute(model, inputs, baselines=, target=) -> attributions like inputs

SENSITIVITY_A = "Sensitivity(a)"
SENSITIVITY_B = "Sensitivity(b)"
IMPLEMENTATION_INVARIANCE = "Implementation invariance"
COMPLETENESS = "Completeness"
LINEARITY = "Linearity"
SYMMETRY_PRESERVATION = "Symmetry preservation"
AXIOMS = (SENSITIVITY_A, SENSITIVITY_B, IMPLEMENTATION_INVARIANCE, COMPLETENESS, LINEARITY, SYMMETRY_PRESERVATION)


# ---------------------------------------------------------------- results
@dataclass
class AxiomResult:
    """The verdict of one check: ``holds``, a one-line ``reason`` and the ``witness``
    (inputs, baselines, attributions and the numbers compared)."""

    axiom: str
    attribution_method: str
    holds: bool
    reason: str
    witness: dict = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:
        verdict = "holds" if self.holds else "VIOLATED"
        return f"<{self.axiom} {verdict} for {self.attribution_method}: {self.reason}>"

    def _repr_html_(self) -> str:
        colour = "green" if self.holds else "crimson"
        verdict = "holds" if self.holds else "violated"
        return (f"<b>{self.axiom}</b> <span style='color:{colour}'>{verdict}</span> "
                f"for <code>{self.attribution_method}</code>: {self.reason}")


def attribution_method_name(attribute: AttributionMethod) -> str:
    """The attribution method's function name, looking through ``functools.partial``."""
    while isinstance(attribute, functools.partial):
        attribute = attribute.func
    return getattr(attribute, "__name__", type(attribute).__name__)


def _fmt(t: Tensor | float) -> str:
    """A number or a small tensor, 4 significant digits."""
    if isinstance(t, Tensor):
        t = t.detach().cpu()
        if t.numel() == 1:
            return f"{t.item():.4g}"
        return "(" + ", ".join(f"{v:.4g}" for v in t.reshape(-1).tolist()) + ")"
    return f"{t:.4g}"


def _attribute(attribute: AttributionMethod, model: Any, x: Tensor, x_base: Tensor, target: TargetLike) -> Tensor:
    """Call the attribution method with the common convention and check it returns a tensor like ``inputs``."""
    attributions = attribute(model, x, baselines=x_base, target=target)
    if isinstance(attributions, tuple):  # e.g. (attributions, delta)
        attributions = attributions[0]
    if not isinstance(attributions, Tensor) or attributions.shape != x.shape:
        got = tuple(attributions.shape) if isinstance(attributions, Tensor) else type(attributions).__name__
        raise ValueError(f"{attribution_method_name(attribute)} must return a tensor shaped like inputs "
                         f"{tuple(x.shape)}, got {got}")
    return attributions.detach()


def _prepare(attribute: AttributionMethod, model: Any, inputs: Any, baselines: Any, target: TargetLike,
             **tolerances: float) -> tuple[Score, Tensor, Tensor]:
    """(F, x, x') for a check, after checking the attribution method and the tolerances."""
    if not callable(attribute):
        raise TypeError(f"attribute must be an attribution method called as attribute(model, inputs, baselines=, "
                        f"target=), got {type(attribute).__name__}: {quote(attribute)}")
    for name, value in tolerances.items():
        check_number(value, name)
    return prepare(model, inputs, baselines, target)


def _flat(t: Tensor) -> Tensor:
    return t.reshape(t.shape[0], -1)


def _scale(delta_f: Tensor, *attributions: Tensor) -> Tensor:
    """max(|F(x) - F(x')|, max_k |a_k|) per example: what ``tol`` is relative to."""
    s = delta_f.abs()
    for a in attributions:
        s = torch.maximum(s, _flat(a).abs().max(1).values)
    return s


def _probes(x: Tensor, x_base: Tensor, k: int = 16, seed: int = 0) -> Tensor:
    """Points to spot-check a premise: x, x', the straight line between them, and random
    points in a box around both, shape [k + 5, N, *features]."""
    g = torch.Generator(device="cpu").manual_seed(seed)
    lo, hi = torch.minimum(x, x_base), torch.maximum(x, x_base)
    span = hi - lo + 1
    u = torch.rand((k,) + x.shape, generator=g, dtype=torch.float64, device="cpu").to(x.device, x.dtype)
    box = lo - span + 3 * span * u
    line = torch.stack([x_base + t * (x - x_base) for t in (0.0, 0.25, 0.5, 0.75, 1.0)])
    return torch.cat([line, box])


def _first_bad(ok: Tensor) -> int:
    return int((~ok).nonzero()[0]) if not ok.all() else 0


# ---------------------------------------------------------------- the checks
def sensitivity_a(
    attribute: AttributionMethod,
    model: Any,
    inputs: Any,
    baselines: Any,
    target: TargetLike = None,
    tol: float = 1e-6,
    name: str | None = None,
) -> AxiomResult:
    """Sensitivity(a): x and x' differ in exactly one feature k and F(x) != F(x'); then a_k != 0.

    a_k counts as zero when |a_k| <= ``tol`` * |F(x) - F(x')|.
    """
    F, x, x_base = _prepare(attribute, model, inputs, baselines, target, tol=tol)
    differ = _flat(x != x_base)
    if not (differ.sum(1) == 1).all():
        bad = _first_bad(differ.sum(1) == 1)
        raise ValueError(
            f"Sensitivity(a) needs x and x' that differ in exactly one feature; example {bad} "
            f"differs in features {differ[bad].nonzero().flatten().tolist()}"
        )
    k = differ.int().argmax(1)
    delta_f = F.difference(x, x_base)
    if (delta_f == 0).any():
        raise ValueError(f"Sensitivity(a) needs F(x) != F(x'); F(x) - F(x') = {_fmt(delta_f)}")
    a = _attribute(attribute, model, x, x_base, target)
    a_k = _flat(a).gather(1, k[:, None]).squeeze(1)
    ok = a_k.abs() > tol * delta_f.abs()
    n = _first_bad(ok)
    verdict = "it gets" if ok.all() else "yet it gets"
    reason = (
        f"x and x' differ only in feature {int(k[n])} and F changes by {_fmt(delta_f[n])}; "
        f"{verdict} attribution {_fmt(a_k[n])}"
    )
    witness = dict(inputs=x, baselines=x_base, attributions=a, feature=k, delta_f=delta_f, attribution_of_feature=a_k)
    return AxiomResult(SENSITIVITY_A, name or attribution_method_name(attribute), bool(ok.all()), reason, witness)


def sensitivity_b(
    attribute: AttributionMethod,
    model: Any,
    inputs: Any,
    baselines: Any,
    dummy: int,
    target: TargetLike = None,
    tol: float = 1e-6,
    name: str | None = None,
) -> AxiomResult:
    """Sensitivity(b): F does not depend on feature ``dummy`` (flattened index); then a_dummy = 0.

    The premise is spot-checked: F must not change when the dummy feature is redrawn at
    random at x, x' and points around them. a_dummy counts as zero when
    |a_dummy| <= ``tol`` * max(|F(x) - F(x')|, max_k |a_k|).
    """
    F, x, x_base = _prepare(attribute, model, inputs, baselines, target, tol=tol)
    n_features = x[0].numel()
    if not 0 <= check_count(dummy, "dummy", minimum=0) < n_features:
        raise ValueError(f"dummy must be a feature index in 0..{n_features - 1}, got {dummy}")
    probes = _probes(x, x_base)
    moved = probes.reshape(-1, n_features).clone()
    moved[:, dummy] = moved[:, dummy] + 10 * torch.randn(
        len(moved), generator=torch.Generator(device="cpu").manual_seed(1), dtype=torch.float64, device="cpu"
    ).to(moved.device, moved.dtype)
    if not torch.allclose(F.values(probes), F.values(moved.reshape(probes.shape)), rtol=1e-9, atol=1e-12):
        raise ValueError(f"Sensitivity(b) needs a model that ignores feature {dummy}, but F changes when it changes")
    delta_f = F.difference(x, x_base)
    a = _attribute(attribute, model, x, x_base, target)
    a_dummy = _flat(a)[:, dummy]
    ok = a_dummy.abs() <= tol * _scale(delta_f, a)
    n = _first_bad(ok)
    reason = (
        f"F ignores feature {dummy}, which gets attribution {_fmt(a_dummy[n])}"
        + ("" if ok.all() else " instead of 0")
    )
    witness = dict(inputs=x, baselines=x_base, attributions=a, dummy=dummy, attribution_of_dummy=a_dummy)
    return AxiomResult(SENSITIVITY_B, name or attribution_method_name(attribute), bool(ok.all()), reason, witness)


def implementation_invariance(
    attribute: AttributionMethod,
    model_f: Any,
    model_g: Any,
    inputs: Any,
    baselines: Any,
    target: TargetLike = None,
    tol: float = 1e-6,
    name: str | None = None,
) -> AxiomResult:
    """Implementation invariance: f and g compute the same function; then A_f(x, x') = A_g(x, x').

    The premise is spot-checked at x, x', along the line between them and at random points
    around them. Attributions count as equal when max_k |A_f,k - A_g,k| <= ``tol`` *
    max(|F(x) - F(x')|, max |A_f|, max |A_g|).
    """
    F, x, x_base = _prepare(attribute, model_f, inputs, baselines, target, tol=tol)
    check_model(model_g, x, "model_g")
    probes = _probes(x, x_base)
    if not torch.allclose(F.values(probes), F.with_model(model_g).values(probes), rtol=1e-9, atol=1e-12):
        raise ValueError("implementation invariance needs two functionally equivalent models; their outputs differ")
    a_f = _attribute(attribute, model_f, x, x_base, target)
    a_g = _attribute(attribute, model_g, x, x_base, target)
    delta_f = F.difference(x, x_base)
    gap = _flat(a_f - a_g).abs().max(1).values
    ok = gap <= tol * _scale(delta_f, a_f, a_g)
    n = _first_bad(ok)
    relation = "==" if ok.all() else "!="
    reason = f"same function, attributions {_fmt(a_f[n])} {relation} {_fmt(a_g[n])}"
    witness = dict(inputs=x, baselines=x_base, attributions=a_f, attributions_g=a_g, max_difference=gap)
    return AxiomResult(IMPLEMENTATION_INVARIANCE, name or attribution_method_name(attribute), bool(ok.all()), reason,
                       witness)


def completeness(
    attribute: AttributionMethod,
    model: Any,
    inputs: Any,
    baselines: Any,
    target: TargetLike = None,
    rtol: float = 0.05,
    atol: float = 1e-6,
    name: str | None = None,
) -> AxiomResult:
    """Completeness: sum_i a_i = F(x) - F(x').

    Holds when |sum_i a_i - (F(x) - F(x'))| <= ``rtol`` * |F(x) - F(x')| + ``atol``. The
    default rtol = 0.05 is the paper's practical rule for IG with m steps (raise m until
    the gap is within 5%); pass a small rtol to test a method that claims exactness.
    """
    F, x, x_base = _prepare(attribute, model, inputs, baselines, target, rtol=rtol, atol=atol)
    delta_f = F.difference(x, x_base)
    a = _attribute(attribute, model, x, x_base, target)
    total = _flat(a).sum(1)
    gap = total - delta_f
    ok = gap.abs() <= rtol * delta_f.abs() + atol
    n = _first_bad(ok)
    relation = "matches" if ok.all() else "differs from"
    reason = f"sum of attributions {_fmt(total[n])} {relation} F(x) - F(x') = {_fmt(delta_f[n])}"
    witness = dict(inputs=x, baselines=x_base, attributions=a, sum=total, delta_f=delta_f, gap=gap)
    return AxiomResult(COMPLETENESS, name or attribution_method_name(attribute), bool(ok.all()), reason, witness)


class LinearCombination(nn.Module):
    """h(x) = a * f1(x) + b * f2(x), keeping f1 and f2 as submodules (so hooks still see them)."""

    def __init__(self, f1: Any, f2: Any, a: float, b: float):
        super().__init__()
        self.f1, self.f2, self.a, self.b = f1, f2, float(a), float(b)
        self.training = any(getattr(f, "training", False) for f in (f1, f2))

    def forward(self, x: Tensor, *args: Any) -> Tensor:
        return self.a * self.f1(x, *args) + self.b * self.f2(x, *args)

    def extra_repr(self) -> str:
        return f"h = {self.a:g} * f1 + ({self.b:g}) * f2"


def linearity(
    attribute: AttributionMethod,
    f1: Any,
    f2: Any,
    a: float,
    b: float,
    inputs: Any,
    baselines: Any,
    target: TargetLike = None,
    tol: float = 1e-6,
    name: str | None = None,
) -> AxiomResult:
    """Linearity: the attributions of h = a f1 + b f2 are a A_f1 + b A_f2.

    Equal when the largest difference is at most ``tol`` * max(|h(x) - h(x')|, max |A_h|,
    max |a A_f1|, max |b A_f2|). A method with random sampling must be seeded (the three
    calls must see the same noise) for this to have a chance.
    """
    h = LinearCombination(f1, f2, a, b)
    F, x, x_base = _prepare(attribute, h, inputs, baselines, target, tol=tol)
    a_h = _attribute(attribute, h, x, x_base, target)
    a_1 = _attribute(attribute, f1, x, x_base, target)
    a_2 = _attribute(attribute, f2, x, x_base, target)
    combined = a * a_1 + b * a_2
    delta_h = F.difference(x, x_base)
    gap = _flat(a_h - combined).abs().max(1).values
    ok = gap <= tol * _scale(delta_h, a_h, a * a_1, b * a_2)
    n = _first_bad(ok)
    relation = "==" if ok.all() else "!="
    sign = "-" if b < 0 else "+"
    reason = (
        f"A({a:g} f1 {sign} {abs(b):g} f2) = {_fmt(a_h[n])} {relation} "
        f"{a:g} A(f1) {sign} {abs(b):g} A(f2) = {_fmt(combined[n])}"
    )
    witness = dict(inputs=x, baselines=x_base, attributions=a_h, attributions_f1=a_1, attributions_f2=a_2,
                   combined=combined, max_difference=gap)
    return AxiomResult(LINEARITY, name or attribution_method_name(attribute), bool(ok.all()), reason, witness)


def symmetry_preservation(
    attribute: AttributionMethod,
    model: Any,
    inputs: Any,
    baselines: Any,
    i: int,
    j: int,
    target: TargetLike = None,
    tol: float = 1e-6,
    name: str | None = None,
) -> AxiomResult:
    """Symmetry preservation: F unchanged by swapping x_i and x_j, x_i = x_j and x'_i = x'_j;
    then a_i = a_j.

    The premise is checked on x, x' and spot-checked (F(swap(z)) = F(z)) on points around
    them. a_i and a_j count as equal when |a_i - a_j| <= ``tol`` * max(|F(x) - F(x')|, max_k |a_k|).
    """
    F, x, x_base = _prepare(attribute, model, inputs, baselines, target, tol=tol)
    fx, fb = _flat(x), _flat(x_base)
    if not (torch.equal(fx[:, i], fx[:, j]) and torch.equal(fb[:, i], fb[:, j])):
        raise ValueError(f"symmetry preservation needs x_{i} = x_{j} and x'_{i} = x'_{j}")
    probes = _probes(x, x_base)
    swapped = probes.reshape(-1, x[0].numel()).clone()
    swapped[:, [i, j]] = swapped[:, [j, i]]
    if not torch.allclose(F.values(probes), F.values(swapped.reshape(probes.shape)), rtol=1e-9, atol=1e-12):
        raise ValueError(f"symmetry preservation needs F symmetric in features {i} and {j}; swapping them changes F")
    delta_f = F.difference(x, x_base)
    a = _attribute(attribute, model, x, x_base, target)
    a_i, a_j = _flat(a)[:, i], _flat(a)[:, j]
    ok = (a_i - a_j).abs() <= tol * _scale(delta_f, a)
    n = _first_bad(ok)
    relation = "==" if ok.all() else "!="
    reason = f"F symmetric in features {i}, {j} and x_{i} = x_{j}: a_{i} = {_fmt(a_i[n])} {relation} a_{j} = {_fmt(a_j[n])}"
    witness = dict(inputs=x, baselines=x_base, attributions=a, i=i, j=j, a_i=a_i, a_j=a_j)
    return AxiomResult(SYMMETRY_PRESERVATION, name or attribution_method_name(attribute), bool(ok.all()), reason,
                       witness)


# ---------------------------------------------------------------- the paper's witnesses
@dataclass
class Witness:
    """One case on which to check an axiom: ``check(attribute, **arguments)``."""

    axiom: str
    description: str
    check: Callable[..., AxiomResult] = field(repr=False)
    arguments: dict = field(repr=False)

    def run(self, attribute: AttributionMethod, name: str | None = None) -> AxiomResult:
        result = self.check(attribute, **self.arguments, name=name)
        result.witness["case"] = self.description
        return result


def _row(*values: float) -> Tensor:
    return torch.tensor([values], dtype=torch.float64)


def paper_witnesses() -> list[Witness]:
    """The paper's counterexamples as witnesses (float64), several per axiom where the paper
    has several; an axiom holds for a method in ``axiom_table`` when it holds on all of them.

    Sensitivity(a): 1 - ReLU(1 - x) at 2 and min(x, 5) at 8 (from 0), and f at x = (3, 1)
    from x' = (3, 0) (only x2 changes; DeConvNet and Guided Backprop give it 0).
    Sensitivity(b): ReLU(x1 - 1), which ignores x2. Implementation invariance: f and g at
    (3, 1). Completeness: 1 - ReLU(1 - x) at 2, and f at (3, 1) (gradient * input sums to 2,
    F changes by 1). Linearity: 2 f - ReLU(x1 + x2 - 1) (the negative coefficient flips
    the sign of the signal reaching f's ReLUs). Symmetry: ReLU(x1 + x2 - 1) at (1, 1).
    (For path methods the sharper symmetry witness is ``toys.symmetry_witness``.)
    """
    f, g = toys.implementation_pair()
    return [
        Witness(SENSITIVITY_A, "F(x) = 1 - ReLU(1 - x), x = 2, x' = 0", sensitivity_a,
                dict(model=toys.one_minus_relu(), inputs=_row(2.0), baselines=_row(0.0))),
        Witness(SENSITIVITY_A, "F(x) = min(x, 5), x = 8, x' = 0", sensitivity_a,
                dict(model=toys.min_x_5(), inputs=_row(8.0), baselines=_row(0.0))),
        Witness(SENSITIVITY_A, "f = ReLU(ReLU(x1) - 1 - ReLU(x2)), x = (3, 1), x' = (3, 0)", sensitivity_a,
                dict(model=f, inputs=_row(3.0, 1.0), baselines=_row(3.0, 0.0))),
        Witness(SENSITIVITY_B, "F = ReLU(x1 - 1) ignores x2, x = (3, 1), x' = (0, 0)", sensitivity_b,
                dict(model=toys.ignores_x2(), inputs=_row(3.0, 1.0), baselines=_row(0.0, 0.0), dummy=1)),
        Witness(IMPLEMENTATION_INVARIANCE, "f and g = ReLU(ReLU(x1 - 1) - ReLU(x2)), x = (3, 1), x' = (0, 0)",
                implementation_invariance,
                dict(model_f=f, model_g=g, inputs=_row(3.0, 1.0), baselines=_row(0.0, 0.0))),
        Witness(COMPLETENESS, "F(x) = 1 - ReLU(1 - x), x = 2, x' = 0", completeness,
                dict(model=toys.one_minus_relu(), inputs=_row(2.0), baselines=_row(0.0))),
        Witness(COMPLETENESS, "f = ReLU(ReLU(x1) - 1 - ReLU(x2)), x = (3, 1), x' = (0, 0)", completeness,
                dict(model=f, inputs=_row(3.0, 1.0), baselines=_row(0.0, 0.0))),
        Witness(LINEARITY, "2 f - ReLU(x1 + x2 - 1), x = (3, 1), x' = (0, 0)", linearity,
                dict(f1=f, f2=toys.symmetric_relu(), a=2.0, b=-1.0, inputs=_row(3.0, 1.0), baselines=_row(0.0, 0.0))),
        Witness(SYMMETRY_PRESERVATION, "F = ReLU(x1 + x2 - 1), x = (1, 1), x' = (0, 0)", symmetry_preservation,
                dict(model=toys.symmetric_relu(), inputs=_row(1.0, 1.0), baselines=_row(0.0, 0.0), i=0, j=1)),
    ]


# ---------------------------------------------------------------- the table
@dataclass
class AxiomTable:
    """Every check on every attribution method. ``table[attribution_method, axiom]`` is True
    when the axiom held on every witness for it; ``violations()`` lists the failing results
    with their reasons."""

    results: list[AxiomResult]

    @property
    def attribution_methods(self) -> list[str]:
        return list(dict.fromkeys(r.attribution_method for r in self.results))

    @property
    def axioms(self) -> list[str]:
        present = {r.axiom for r in self.results}
        return [a for a in AXIOMS if a in present] + sorted(present - set(AXIOMS))

    def holds(self, attribution_method: str, axiom: str) -> bool:
        found = [r.holds for r in self.results if r.attribution_method == attribution_method and r.axiom == axiom]
        if not found:
            raise KeyError(f"no result for attribution method {attribution_method!r} and axiom {axiom!r}")
        return all(found)

    def __getitem__(self, key: tuple[str, str]) -> bool:
        return self.holds(*key)

    def as_dict(self) -> dict[tuple[str, str], bool]:
        return {(m, a): self.holds(m, a) for m in self.attribution_methods for a in self.axioms}

    def violations(self, attribution_method: str | None = None) -> list[AxiomResult]:
        return [r for r in self.results
                if not r.holds and (attribution_method is None or r.attribution_method == attribution_method)]

    def to_markdown(self) -> str:
        lines = ["| attribution method | " + " | ".join(self.axioms) + " |", "|---" * (len(self.axioms) + 1) + "|"]
        for m in self.attribution_methods:
            cells = ["yes" if self.holds(m, a) else "**no**" for a in self.axioms]
            lines.append(f"| {m} | " + " | ".join(cells) + " |")
        return "\n".join(lines)

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def __repr__(self) -> str:
        width = max(len(m) for m in self.attribution_methods) if self.results else 6
        head = " " * width + "  " + "  ".join(self.axioms)
        rows = [
            m.ljust(width) + "  " + "  ".join(("yes" if self.holds(m, a) else "NO").ljust(len(a)) for a in self.axioms)
            for m in self.attribution_methods
        ]
        return "\n".join([head] + rows)


def axiom_table(attribution_methods: dict[str, AttributionMethod],
                witnesses: Sequence[Witness] | None = None) -> AxiomTable:
    """Run every witness (default: ``paper_witnesses()``) on every attribution method of
    ``{name: attribute}``."""
    cases = paper_witnesses() if witnesses is None else list(witnesses)
    return AxiomTable([case.run(attribute, name=name) for name, attribute in attribution_methods.items()
                       for case in cases])
