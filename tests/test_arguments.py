"""Argument checks (iglib.arguments): counts, numbers, batch sizes, inputs, baselines, targets, models,
extra arguments and seeds; what each accepts and returns, and that each error names the argument and
quotes the value given."""
import re
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from iglib.arguments import (
    Target,
    check_args,
    check_baselines,
    check_batch_size,
    check_count,
    check_device,
    check_inputs,
    check_model,
    check_number,
    check_seed,
    check_target,
    is_int,
    module_of,
    quote,
)

pytestmark = pytest.mark.usefixtures("float64_module", "one_thread")  # tests/conftest.py


# ---------------------------------------------------------------- counts and numbers
@pytest.mark.parametrize("value", [3, np.int64(3), np.int8(3), np.uint16(3)])
def test_check_count_accepts_python_and_numpy_ints_as_a_python_int(value):
    result = check_count(value, "n_samples")
    assert result == 3 and type(result) is int


@pytest.mark.parametrize("value", [2.5, 3.0, True, np.bool_(True), "3", None, np.float64(3.0)])
def test_check_count_refuses_non_integers_and_bools_naming_the_argument_and_value(value):
    with pytest.raises(TypeError, match=re.escape(f"n_samples must be an int >= 1, got {value!r}")):
        check_count(value, "n_samples")


@pytest.mark.parametrize("value, minimum", [(0, 1), (-2, 1), (1, 2), (np.int64(4), 5)])
def test_check_count_refuses_values_below_the_minimum(value, minimum):
    with pytest.raises(ValueError, match=f"max_pieces must be >= {minimum}, got {value}"):
        check_count(value, "max_pieces", minimum=minimum)


def test_check_count_accepts_its_minimum():
    assert check_count(0, "k", minimum=0) == 0 and check_count(2, "k", minimum=2) == 2


@pytest.mark.parametrize("value", [0, 0.5, 7, np.float32(0.25), np.int64(2)])
def test_check_number_accepts_finite_non_negative_reals_as_a_float(value):
    result = check_number(value, "eps")
    assert result == float(value) and type(result) is float


@pytest.mark.parametrize("value", [True, np.bool_(False), "1", None, torch.tensor(0.5), 1j])
def test_check_number_refuses_non_reals_and_bools(value):
    with pytest.raises(TypeError, match=re.escape(f"eps must be a finite number >= 0, got {quote(value)}")):
        check_number(value, "eps")


@pytest.mark.parametrize("value", [-0.1, -1, float("nan"), float("inf"), -float("inf")])
def test_check_number_refuses_negative_and_non_finite_values(value):
    with pytest.raises(ValueError, match=re.escape(f"eps must be a finite number >= 0, got {value!r}")):
        check_number(value, "eps")


def test_check_number_positive_refuses_zero():
    with pytest.raises(ValueError, match="sigma must be a finite number > 0, got 0.0"):
        check_number(0.0, "sigma", positive=True)
    assert check_number(1e-300, "sigma", positive=True) == 1e-300


def test_check_number_at_most_is_an_inclusive_upper_bound():
    assert check_number(1, "share", at_most=1) == 1.0
    with pytest.raises(ValueError, match="share must be a finite number >= 0 and <= 1, got 1.5"):
        check_number(1.5, "share", at_most=1)


def test_check_number_says_what_was_expected_when_told():
    with pytest.raises(ValueError, match=r"fraction must be a share in \[0, 1\], got -1"):
        check_number(-1, "fraction", expected="a share in [0, 1]")


@pytest.mark.parametrize("value, expected", [(None, None), ("auto", "auto"), (3, 3), (np.int32(2), 2)])
def test_check_batch_size_accepts_none_auto_and_positive_ints(value, expected):
    assert check_batch_size(value) == expected


@pytest.mark.parametrize("value, error, message", [
    ("max", ValueError, "internal_batch_size must be None, an int >= 1 or 'auto', got 'max'"),
    (0, ValueError, "internal_batch_size must be >= 1, got 0"),
    (2.0, TypeError, "internal_batch_size must be an int >= 1, got 2.0"),
    (True, TypeError, "internal_batch_size must be an int >= 1, got True"),
])
def test_check_batch_size_refuses_other_values(value, error, message):
    with pytest.raises(error, match=re.escape(message)):
        check_batch_size(value)


def test_quote_cuts_long_values_and_shows_small_tensors_values():
    assert quote("x" * 200) == repr("x" * 200)[:77] + "..." and len(quote("x" * 200)) == 80
    assert quote([1, 2]) == "[1, 2]"
    assert quote(torch.tensor([1, 2])) == "[1, 2] (tensor of shape (2,) and dtype torch.int64)"
    assert quote(torch.zeros(3, 4)) == "tensor of shape (3, 4) and dtype torch.float64"


def test_is_int_means_a_whole_number_and_not_a_bool():
    assert is_int(3) and is_int(np.int16(-2))
    assert not is_int(True) and not is_int(np.bool_(True)) and not is_int(3.0) and not is_int("3")


# ---------------------------------------------------------------- devices and inputs
def test_check_device_refuses_meta_tensors_naming_the_argument():
    with pytest.raises(ValueError, match="target is on meta: the meta device holds shapes but no values"):
        check_device(torch.zeros(1, device="meta"), "target")
    with pytest.raises(ValueError, match="inputs are on cpu but baselines is on meta"):
        check_device(torch.zeros(1, device="meta"), "baselines", torch.zeros(1))
    check_device(torch.zeros(1), "baselines", torch.zeros(1))  # the same device: no error


def test_check_inputs_returns_the_tensor_detached():
    x = torch.randn(2, 3, requires_grad=True)
    out = check_inputs(x)
    assert not out.requires_grad
    torch.testing.assert_close(out, x.detach(), rtol=0, atol=0)


@pytest.mark.parametrize("inputs, error, message", [
    ((torch.zeros(2, 3),), TypeError, "inputs must be a single torch.Tensor with the batch on dimension 0; got a tuple"),
    ([torch.zeros(2, 3)], TypeError, "inputs must be a single torch.Tensor with the batch on dimension 0; got a list"),
    (np.zeros((2, 3)), TypeError, "inputs must be a torch.Tensor, got ndarray"),
    (torch.zeros(2, 3, dtype=torch.long), TypeError,
     "inputs must have a floating-point dtype (gradients need one), got torch.int64"),
    (torch.tensor(1.0), ValueError, "inputs must have a batch dimension 0 with at least one example, got shape ()"),
    (torch.zeros(0, 3), ValueError, "inputs must have a batch dimension 0 with at least one example, got shape (0, 3)"),
])
def test_check_inputs_refuses_what_is_not_one_batched_float_tensor(inputs, error, message):
    with pytest.raises(error, match=re.escape(message)):
        check_inputs(inputs)


def test_check_inputs_names_the_examples_that_hold_nan_or_inf():
    x = torch.zeros(4, 2)
    x[1, 0], x[3, 1] = float("nan"), -float("inf")
    with pytest.raises(ValueError, match=re.escape("inputs must be finite, but examples [1, 3] hold nan or inf")):
        check_inputs(x)
    with pytest.raises(ValueError, match=re.escape("path must be finite, but examples [1, 3]")):
        check_inputs(x, "path")


# ---------------------------------------------------------------- baselines
X = torch.arange(6.0, dtype=torch.float64).reshape(2, 3)


@pytest.mark.parametrize("baselines, expected", [
    (None, torch.zeros(2, 3, dtype=torch.float64)),
    (2, torch.full((2, 3), 2.0, dtype=torch.float64)),
    (-0.5, torch.full((2, 3), -0.5, dtype=torch.float64)),
    (torch.tensor([1.0, 2.0, 3.0]), torch.tensor([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]], dtype=torch.float64)),
    (torch.tensor([[1.0], [2.0]]), torch.tensor([[1.0, 1.0, 1.0], [2.0, 2.0, 2.0]], dtype=torch.float64)),
    (torch.tensor([1, 2, 3]), torch.tensor([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]], dtype=torch.float64)),
])
def test_check_baselines_broadcasts_to_the_inputs_shape_and_dtype(baselines, expected):
    torch.testing.assert_close(check_baselines(baselines, X), expected, rtol=0, atol=0)


def test_check_baselines_returns_a_copy_the_caller_can_change():
    base = torch.ones(2, 3)
    out = check_baselines(base, X)
    out += 1
    assert (base == 1).all()


@pytest.mark.parametrize("shape", [(4,), (3, 3), (2, 2), (1, 2, 3, 1)])
def test_a_baseline_of_the_wrong_shape_is_an_error_naming_both_shapes(shape):
    message = f"baselines has shape {shape}, which does not broadcast to the inputs' shape (2, 3)"
    with pytest.raises(ValueError, match=re.escape(message)):
        check_baselines(torch.zeros(shape), X)


@pytest.mark.parametrize("baselines, error, message", [
    (float("inf"), ValueError, "baselines must be finite, got inf"),
    (True, TypeError, "baselines must be None, a number or a torch.Tensor broadcastable to inputs (2, 3), got bool"),
    ("zero", TypeError, "got str"),
    ([0.0, 0.0, 0.0], TypeError, "got list"),
    (torch.ones(3, dtype=torch.bool), TypeError, "baselines must hold real numbers, got dtype torch.bool"),
    (torch.tensor([0.0, float("nan"), 0.0]), ValueError, "baselines must be finite, but examples [0, 1] hold nan or inf"),
])
def test_check_baselines_refuses_bad_values(baselines, error, message):
    with pytest.raises(error, match=re.escape(message)):
        check_baselines(baselines, X)


# ---------------------------------------------------------------- targets
@pytest.mark.parametrize("target, rows", [
    (2, [[2], [2], [2]]),
    (np.int64(1), [[1], [1], [1]]),
    ((1, 2), [[1, 2], [1, 2], [1, 2]]),
    ([0, 1, 2], [[0], [1], [2]]),
    ([(0, 1), (1, 0), (2, 2)], [[0, 1], [1, 0], [2, 2]]),
    (torch.tensor([2, 0, 1]), [[2], [0], [1]]),
    (torch.tensor(1), [[1], [1], [1]]),
    (torch.tensor([1]), [[1], [1], [1]]),
    (np.array([1, 0, 2]), [[1], [0], [2]]),
    (torch.tensor([[0, 1], [1, 1], [2, 2]]), [[0, 1], [1, 1], [2, 2]]),
])
def test_check_target_gives_one_row_of_indices_per_example(target, rows):
    result = check_target(target, 3)
    assert result.index.dtype == torch.long and result.index.tolist() == rows
    assert result.given is target


def test_check_target_none_means_one_output_per_example():
    assert check_target(None, 3) == Target(None, None)
    already = Target(torch.tensor([[1]]), 1)
    assert check_target(already, 1) is already


def test_a_target_repeats_step_major_and_picks_one_example():
    target = check_target([0, 1], 2)
    assert target.repeat(3).index.tolist() == [[0], [1], [0], [1], [0], [1]]
    assert target.repeat(1) is target
    assert target.example(1).index.tolist() == [[1]]
    assert check_target(None, 2).repeat(3).index is None


@pytest.mark.parametrize("target, error, message", [
    (True, TypeError, "target must be None, an int, a tuple, a list or a 1-D integer tensor, got a bool: True"),
    (1.0, TypeError, "got float: 1.0"),
    ("1", TypeError, "got str: '1'"),
    ([0, 1], ValueError, "target must hold one integer class per example (3 examples in inputs), got 2: [0, 1]"),
    ([0, 1, 2, 0], ValueError, "(3 examples in inputs), got 4: [0, 1, 2, 0]"),
    ([0, 1.0, 2], TypeError, "target as a list must hold one int per example, or one tuple of ints"),
    ([0, True, 2], TypeError, "target as a list must hold one int per example"),
    ([(0,), (1, 2), (0,)], TypeError, "one tuple of ints (of the same length) per example; got [(0,), (1, 2), (0,)]"),
    ((), TypeError, "target as a tuple must hold ints (an index into each example's output), got ()"),
    ((1.0,), TypeError, "target as a tuple must hold ints"),
    (torch.tensor([0.0, 1.0, 2.0]), TypeError, "target must hold integer class indices, got [0.0, 1.0, 2.0]"),
    (torch.tensor([True, False, True]), TypeError, "target must hold integer class indices"),
    (torch.ones(2, 2, dtype=torch.long), ValueError,
     "target as a tensor must be one int, [N] (one class per example) or [N, k]"),
])
def test_check_target_refuses_bad_targets_quoting_them(target, error, message):
    with pytest.raises(error, match=re.escape(message)):
        check_target(target, 3)


# ---------------------------------------------------------------- the model and its extra arguments
def test_module_of_finds_the_module_behind_a_model():
    net = nn.Linear(2, 1)
    assert module_of(net) is net and module_of(net.forward) is net
    assert module_of(lambda x: x) is None


def test_check_model_refuses_what_is_not_callable():
    with pytest.raises(TypeError, match="model must be an nn.Module or a callable, got int: 3"):
        check_model(3, X)


def test_check_model_refuses_a_model_of_another_dtype():
    with pytest.raises(TypeError, match=r"inputs are torch.float64 but the model's parameters are torch.float32"):
        check_model(nn.Linear(3, 1).float().eval(), X)


def test_check_model_warns_about_training_mode_naming_the_submodules():
    model = nn.Sequential(nn.Linear(3, 1), nn.Dropout())
    with pytest.warns(UserWarning, match=r"has submodules in training mode \(Dropout\).*model.eval\(\)"):
        check_model(model, X)
    model.eval()
    model[0].train()  # a Linear in training mode behaves the same: no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_model(model, X)


def forward_two(x, scale, shift=0.0):
    return x * scale + shift


@pytest.mark.parametrize("args, expected", [
    (torch.ones(2), (torch.ones(2),)),
    ((torch.ones(2), 3.0), (torch.ones(2), 3.0)),
    (torch.tensor(2.0), (torch.tensor(2.0),)),  # a 0-d tensor carries no batch
])
def test_check_args_returns_a_tuple_the_model_accepts(args, expected):
    result = check_args(args, forward_two, X)
    assert isinstance(result, tuple) and len(result) == len(expected)
    for got, want in zip(result, expected):
        assert torch.equal(got, want) if isinstance(want, torch.Tensor) else got == want
    assert check_args(None, nn.Linear(3, 1), X) == ()


def test_check_args_refuses_a_tensor_without_the_inputs_batch():
    with pytest.raises(ValueError, match=re.escape("additional_forward_args has shape (3,) but inputs hold 2 examples")):
        check_args(torch.ones(3), forward_two, X)
    with pytest.raises(ValueError, match=re.escape("additional_forward_args[1] has shape (5,) but inputs hold 2")):
        check_args((torch.ones(2), torch.ones(5)), forward_two, X)


def test_check_args_refuses_arguments_the_forward_cannot_take():
    with pytest.raises(TypeError, match=r"forward\(x, scale, shift=0.0\) cannot take the inputs followed by 3 additional"):
        check_args((1.0, 2.0, 3.0), forward_two, X)
    with pytest.raises(TypeError, match="followed by 0 additional argument"):
        check_args(None, forward_two, X)


# ---------------------------------------------------------------- seeds
def test_check_seed_gives_a_generator_seeded_with_the_int():
    a = torch.rand(4, generator=check_seed(5))
    b = torch.rand(4, generator=check_seed(np.int64(5)))
    assert torch.equal(a, b)
    assert not torch.equal(a, torch.rand(4, generator=check_seed(6)))


def test_check_seed_none_follows_torchs_global_seed():
    torch.manual_seed(0)
    a = torch.rand(4, generator=check_seed(None))
    torch.manual_seed(0)
    assert torch.equal(a, torch.rand(4, generator=check_seed(None)))


@pytest.mark.parametrize("seed", [True, 1.5, "1"])
def test_check_seed_refuses_what_is_not_an_int(seed):
    with pytest.raises(TypeError, match=re.escape(f"seed must be None or an int, got {seed!r}")):
        check_seed(seed)
