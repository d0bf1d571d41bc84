"""The table of torch operations (iglib.ops): op_name's normalisation, is_inplace, the names torch really
dispatches, and the invariants between the tables (disjoint categories, subsets, parameters and defaults)."""
import inspect
import itertools

import pytest
import torch
import torch.nn.functional as F

from iglib import ops
from iglib.ops import (
    CONSTANT,
    DEFAULTS,
    DIVISION,
    GATES,
    KINK_AT_ZERO,
    LINEAR,
    MAX_POOLING,
    MULTILINEAR,
    NONLINEARITY_MODULES,
    PARAMETERS,
    PIECEWISE_LINEAR,
    POWERS,
    REFLECTED,
    SMOOTH,
    TRACKED_MAX_POOLS,
    UNTRACKED,
    is_inplace,
    op_name,
)

pytestmark = pytest.mark.usefixtures("float64_module", "one_thread")  # tests/conftest.py

# Each operation is at most one of these: how it depends on its input.
CATEGORIES = {
    "LINEAR": LINEAR, "MULTILINEAR": MULTILINEAR, "DIVISION": DIVISION, "REFLECTED": REFLECTED, "POWERS": POWERS,
    "CONSTANT": CONSTANT, "SMOOTH": SMOOTH, "PIECEWISE_LINEAR": PIECEWISE_LINEAR, "UNTRACKED": UNTRACKED,
}
IN_PLACE_OPERATORS = ("add", "sub", "mul", "truediv", "div", "matmul", "pow")


def named(name):
    """An object that looks like a torch function called ``name``."""
    return type("Op", (), {"__name__": name})()


class Recorder(torch.overrides.TorchFunctionMode):
    """Records (op_name, is_inplace) of every torch function called inside it."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        self.seen.append((op_name(func), is_inplace(func, kwargs)))
        return func(*args, **kwargs)


def dispatched(f, *args):
    recorder = Recorder()
    with recorder:
        f(*args)
    return recorder.seen


# ---------------------------------------------------------------- op_name
@pytest.mark.parametrize("func", [torch.relu, torch.Tensor.relu, torch.Tensor.relu_, F.relu, F.relu_])
def test_every_spelling_of_relu_is_relu(func):
    assert op_name(func) == "relu"


@pytest.mark.parametrize("func, name", [
    (torch.Tensor.clamp_, "clamp"), (torch.Tensor.add_, "add"), (F.leaky_relu_, "leaky_relu"), (torch.sigmoid, "sigmoid"),
])
def test_a_trailing_underscore_is_dropped(func, name):
    assert op_name(func) == name


@pytest.mark.parametrize("operator", IN_PLACE_OPERATORS)
def test_in_place_operator_dunders_are_their_out_of_place_op(operator):
    assert op_name(named(f"__i{operator}__")) == operator
    assert op_name(named(f"__{operator}__")) == operator


@pytest.mark.parametrize("dunder, name", [
    ("__rmul__", "rmul"), ("__radd__", "radd"), ("__rsub__", "rsub"), ("__rtruediv__", "rtruediv"),
    ("__rpow__", "rpow"), ("__getitem__", "getitem"), ("__setitem__", "setitem"), ("__neg__", "neg"),
])
def test_other_dunders_lose_only_their_underscores(dunder, name):
    assert op_name(named(dunder)) == name


def test_real_operator_dunders_are_normalised():
    assert op_name(torch.Tensor.__iadd__) == "add"
    assert op_name(torch.Tensor.__rmul__) == "rmul"
    assert op_name(torch.Tensor.__imul__) == "mul"
    assert op_name(torch.Tensor.__getitem__) == "getitem"


def test_a_name_of_underscores_only_is_kept_and_a_nameless_op_is_its_repr():
    assert op_name(named("_")) == "_"
    nameless = object()
    assert op_name(nameless) == repr(nameless)


# ---------------------------------------------------------------- is_inplace
@pytest.mark.parametrize("func, kwargs", [
    (torch.Tensor.relu_, {}), (torch.Tensor.add_, {}), (torch.Tensor.__iadd__, {}), (torch.Tensor.__imul__, {}),
    (torch.Tensor.__setitem__, {}), (F.relu, {"inplace": True}), (named("__ipow__"), {}), (named("__imatmul__"), {}),
])
def test_in_place_ops_are_recognised(func, kwargs):
    assert is_inplace(func, kwargs)


@pytest.mark.parametrize("func, kwargs", [
    (torch.relu, {}), (F.relu, {}), (F.relu, {"inplace": False}), (torch.Tensor.__add__, {}),
    (torch.Tensor.__radd__, {}), (torch.Tensor.__getitem__, {}), (named("__rmul__"), {"inplace": True}),
])
def test_out_of_place_ops_are_not_in_place(func, kwargs):
    assert not is_inplace(func, kwargs)


def test_every_in_place_operator_dunder_is_in_place_and_named_like_its_table_entry():
    for operator in IN_PLACE_OPERATORS:
        func = named(f"__i{operator}__")
        assert is_inplace(func, {})
        assert any(op_name(func) in table for table in CATEGORIES.values()), operator


# ---------------------------------------------------------------- the names torch dispatches
EXPRESSIONS = {
    "x + 1": lambda x: x + 1, "1 - x": lambda x: 1 - x, "2 * x": lambda x: 2 * x, "x / 2": lambda x: x / 2,
    "2 / x": lambda x: 2 / x, "x ** 2": lambda x: x**2, "2 ** x": lambda x: 2**x, "x // 2": lambda x: x // 2,
    "2 // x": lambda x: 2 // x, "-x": lambda x: -x, "x[0]": lambda x: x[0], "abs(x)": lambda x: abs(x),
    "x @ x.T": lambda x: x @ x.T, "x.sum()": lambda x: x.sum(), "F.relu(x)": F.relu, "torch.tanh(x)": torch.tanh,
    "x.max()": lambda x: x.max(), "x.sort()": lambda x: x.sort(),
}


@pytest.mark.parametrize("expression", sorted(EXPRESSIONS))
def test_what_common_expressions_dispatch_is_in_exactly_one_category(expression):
    for name, _ in dispatched(EXPRESSIONS[expression], torch.randn(2, 3)):
        assert len([c for c, table in CATEGORIES.items() if name in table]) == 1, name


def test_in_place_operations_are_dispatched_as_in_place_with_their_plain_name():
    def in_place(x):
        x = x.clone()
        x += 1
        x *= 2
        x /= 3
        x[0] = 0.0
        x.relu_()
        F.relu(x, inplace=True)
        return x

    assert dispatched(in_place, torch.randn(2, 3))[1:] == [
        ("add", True), ("mul", True), ("div", True), ("setitem", True), ("relu", True), ("relu", True),
    ]


@pytest.mark.parametrize("module", NONLINEARITY_MODULES, ids=lambda m: m.__name__)
def test_every_nonlinearity_module_dispatches_an_op_with_known_parameters(module):
    names = [name for name, _ in dispatched(module(), torch.randn(2, 3))]
    assert names and all(name in PARAMETERS for name in names)


# ---------------------------------------------------------------- invariants between the tables
def test_the_categories_are_pairwise_disjoint():
    for (a, first), (b, second) in itertools.combinations(CATEGORIES.items(), 2):
        assert not first & second, (a, b, sorted(first & second))


def test_kinks_at_zero_are_piecewise_linear():
    assert KINK_AT_ZERO <= PIECEWISE_LINEAR
    assert {"relu", "leaky_relu", "abs"} <= KINK_AT_ZERO
    assert not {"hardtanh", "clamp", "relu6"} & KINK_AT_ZERO  # their kinks are not at zero


def test_tracked_max_pools_are_max_pools_that_are_not_untracked():
    assert TRACKED_MAX_POOLS <= MAX_POOLING
    assert not TRACKED_MAX_POOLS & UNTRACKED
    assert UNTRACKED & MAX_POOLING == MAX_POOLING - TRACKED_MAX_POOLS   # every max pool exact IG does not track,
    #                                                                     with or without its indices


def test_gates_are_piecewise_linear_ops_with_parameters():
    assert set(GATES) <= set(PARAMETERS)
    assert set(GATES) <= PIECEWISE_LINEAR


def test_elementwise_ops_with_parameters_are_smooth_or_piecewise_linear():
    for name in PARAMETERS:
        assert (name in SMOOTH) != (name in PIECEWISE_LINEAR), name
    assert {name for name in PARAMETERS if name not in GATES and name in PIECEWISE_LINEAR} == {"leaky_relu"}


def test_every_parameter_has_a_default_and_every_default_a_parameter():
    used = {p for params in PARAMETERS.values() for p in params}
    assert used == set(DEFAULTS)


@pytest.mark.parametrize("name", ["relu", "relu6", "hardtanh", "sigmoid", "tanh", "elu", "leaky_relu", "silu"])
def test_parameters_follow_the_functional_signature_order_and_defaults(name):
    signature = list(inspect.signature(getattr(F, name)).parameters.values())[1:]
    assert tuple(p.name for p in signature) == PARAMETERS[name]
    for p in signature:
        assert DEFAULTS[p.name] == p.default, (name, p.name)


@pytest.mark.parametrize("name", [n for n in PARAMETERS if n not in ("clamp", "clip", "clamp_min", "clamp_max")])
def test_the_defaults_reproduce_torchs_default_call(name):
    # values on both sides of every default kink and threshold (hardtanh's +-1, softplus's 20)
    x = torch.tensor([-30.0, -3.0, -0.5, 0.0, 0.5, 3.0, 7.0, 25.0])
    function = getattr(F, name)
    with_defaults = function(x.clone(), **{p: DEFAULTS[p] for p in PARAMETERS[name]})
    assert torch.equal(with_defaults, function(x.clone())), name


def test_every_table_of_the_module_is_checked_here():
    tables = {name for name, value in vars(ops).items() if isinstance(value, frozenset)}
    assert tables == set(CATEGORIES) | {"KINK_AT_ZERO", "MAX_POOLING", "TRACKED_MAX_POOLS"}
