"""F(x) (iglib.forward): ``prepare``'s x and x', ``select``'s target entries and its errors, the Score's
chunks, gradients, Hessians, values and F(x) - F(x') against closed forms, and the derivative checks.
(saved_bytes and auto_batch_size are tested in tests/test_memory.py.)"""
import pytest
import torch
from torch import nn

from iglib.arguments import check_target
from iglib.forward import Score, differentiable, prepare, select

pytestmark = pytest.mark.usefixtures("float64_module", "one_thread")  # tests/conftest.py


def linear_net(seed=0, d_in=3, d_out=4):
    torch.manual_seed(seed)
    return nn.Linear(d_in, d_out).eval()


def tanh_net(seed=0, d_in=3, d_out=4):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(d_in, 5), nn.Tanh(), nn.Linear(5, d_out)).eval()


def quadratic(x):  # F(x) = x1^2 + 2 x1 x2 - 3 x2^2: dF/dx = (2 x1 + 2 x2, 2 x1 - 6 x2), d2F/dx2 = [[2, 2], [2, -6]]
    return x[:, 0] ** 2 + 2 * x[:, 0] * x[:, 1] - 3 * x[:, 1] ** 2


# ---------------------------------------------------------------- prepare
def test_prepare_returns_x_and_the_baseline_detached_and_shaped_like_x():
    x = torch.randn(2, 3, requires_grad=True)
    F, x_out, base = prepare(linear_net(), x * 2, torch.tensor([1.0, 2.0, 3.0]), target=1)
    assert isinstance(F, Score)
    assert not x_out.requires_grad and not base.requires_grad
    torch.testing.assert_close(x_out, (x * 2).detach(), rtol=0, atol=0)
    torch.testing.assert_close(base, torch.tensor([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]]), rtol=0, atol=0)
    assert F.n == 2 and F.internal_batch_size is None


@pytest.mark.parametrize("baselines, value", [(None, 0.0), (0.5, 0.5), (-2, -2.0)])
def test_prepare_turns_none_and_numbers_into_constant_baselines(baselines, value):
    _, x, base = prepare(linear_net(), torch.randn(2, 3), baselines, target=0)
    torch.testing.assert_close(base, torch.full_like(x, value), rtol=0, atol=0)


def test_prepare_resolves_auto_to_a_batch_size():
    F, _, _ = prepare(linear_net(), torch.randn(2, 3), target=0, internal_batch_size="auto")
    assert isinstance(F.internal_batch_size, int) and F.internal_batch_size >= 1


# ---------------------------------------------------------------- select
OUT = torch.arange(12.0, dtype=torch.float64).reshape(3, 4)  # 3 rows, 4 classes: entry (i, c) = 4 i + c


@pytest.mark.parametrize("target, expected", [
    (2, [2.0, 6.0, 10.0]),
    (-1, [3.0, 7.0, 11.0]),
    ([0, 3, 1], [0.0, 7.0, 9.0]),
    (torch.tensor([1, 1, 0]), [1.0, 5.0, 8.0]),
    (torch.tensor(3), [3.0, 7.0, 11.0]),
])
def test_select_picks_the_target_entry_of_each_row(target, expected):
    torch.testing.assert_close(select(OUT, check_target(target, 3), 3), torch.tensor(expected), rtol=0, atol=0)


def test_select_repeats_per_example_targets_for_each_point_step_major():
    out = torch.arange(16.0).reshape(4, 4)  # k = 2 points of n = 2 examples: rows (p0 e0, p0 e1, p1 e0, p1 e1)
    picked = select(out, check_target([0, 3], 2), 2, k=2)
    torch.testing.assert_close(picked, torch.tensor([0.0, 7.0, 8.0, 15.0]), rtol=0, atol=0)


def test_select_with_no_target_takes_the_one_output_per_row():
    for out in (OUT[:, 0], OUT[:, :1]):
        torch.testing.assert_close(select(out, check_target(None, 3), 3), torch.tensor([0.0, 4.0, 8.0]), rtol=0, atol=0)


def test_select_indexes_multi_dimensional_outputs_with_tuples():
    grid = torch.arange(24.0).reshape(2, 3, 4)  # entry (i, r, c) = 12 i + 4 r + c
    torch.testing.assert_close(select(grid, check_target((1, 2), 2), 2), torch.tensor([6.0, 18.0]), rtol=0, atol=0)
    picked = select(grid, check_target([(1, 2), (2, 3)], 2), 2)
    torch.testing.assert_close(picked, torch.tensor([6.0, 23.0]), rtol=0, atol=0)


def test_select_names_the_batch_size_when_the_model_returns_the_wrong_rows():
    with pytest.raises(ValueError, match=r"returned shape \(3, 4\) for a batch of 2 examples.*e.g. \[2\] or \[2, classes\]"):
        select(OUT, check_target(0, 2), 2)
    with pytest.raises(ValueError, match=r"for a batch of 4 points \(2 per example of the 2 in inputs\).*\[4, classes\]"):
        select(OUT, check_target(0, 2), 2, k=2)
    with pytest.raises(ValueError, match=r"returned shape \(\) for a batch of 1 examples"):
        select(torch.tensor(1.0), check_target(None, 1), 1)


@pytest.mark.parametrize("target, message", [
    (4, "target 4 is out of range for an output with 4 classes"),
    (-5, "target -5 is out of range for an output with 4 classes"),
    (torch.tensor([7]), "target 7 is out of range for an output with 4 classes"),
    ([0, 5, 1], r"target \[0, 5, 1\] has a class out of range for an output with 4 classes"),
])
def test_select_refuses_an_out_of_range_class(target, message):
    with pytest.raises(ValueError, match=message):
        select(OUT, check_target(target, 3), 3)


def test_select_refuses_targets_that_do_not_fit_the_output():
    grid = torch.zeros(2, 3, 4)
    with pytest.raises(ValueError, match=r"target 1 gives one class per example, but the model returns shape \(3, 4\)"):
        select(grid, check_target(1, 2), 2)
    with pytest.raises(ValueError, match=r"target \(1, 2, 0\) has 3 indices per example.*2 dimensions"):
        select(grid, check_target((1, 2, 0), 2), 2)
    with pytest.raises(ValueError, match=r"target \(3, 0\) is out of range for an output of shape \(3, 4\)"):
        select(grid, check_target((3, 0), 2), 2)
    with pytest.raises(ValueError, match=r"target is None but the model returns 4 values per example.*pass target"):
        select(OUT, check_target(None, 3), 3)
    with pytest.raises(TypeError, match="the model must return a torch.Tensor, got list"):
        select([1.0, 2.0, 3.0], check_target(None, 3), 3)


# ---------------------------------------------------------------- the Score: chunks, values, gradients
@pytest.mark.parametrize("ibs, n, k, per", [(None, 2, 7, 7), (4, 2, 7, 2), (1, 2, 7, 1), (5, 2, 7, 2), (100, 2, 7, 7)])
def test_chunks_cover_every_point_once_with_at_most_the_batch_size_in_examples(ibs, n, k, per):
    F, _, _ = prepare(linear_net(), torch.randn(n, 3), target=0, internal_batch_size=ibs)
    chunks = F.chunks(k)
    assert [i for c in chunks for i in range(k)[c]] == list(range(k))
    sizes = [len(range(k)[c]) for c in chunks]
    assert all(size == per for size in sizes[:-1]) and 0 < sizes[-1] <= per


@pytest.mark.parametrize("ibs", [1, 2, 5, None])
def test_gradients_of_a_linear_model_are_its_target_rows_at_every_point(ibs):
    model = linear_net(1)
    F, x, _ = prepare(model, torch.randn(2, 3), target=[1, 3], internal_batch_size=ibs)
    points = torch.randn(5, 2, 3)
    grads, scores = F.gradients(points)
    assert grads.shape == (5, 2, 3) and scores.shape == (5, 2)
    weight = model.weight.detach()
    torch.testing.assert_close(grads, weight[[1, 3]].expand(5, 2, 3), rtol=0, atol=1e-15)
    with torch.no_grad():
        expected = model(points)[..., [1, 3]].diagonal(dim1=1, dim2=2)
    torch.testing.assert_close(scores, expected, rtol=0, atol=1e-15)


def test_chunking_never_changes_gradients_or_values():
    model = tanh_net(2)
    torch.manual_seed(2)
    points = torch.randn(7, 3, 3)
    results = []
    for ibs in (1, 2, 4, None):
        F, _, _ = prepare(model, torch.randn(3, 3), target=[0, 2, 3], internal_batch_size=ibs)
        results.append((*F.gradients(points), F.values(points)))
    for grads, scores, values in results[1:]:
        torch.testing.assert_close(grads, results[0][0], rtol=0, atol=1e-14)
        torch.testing.assert_close(scores, results[0][1], rtol=0, atol=1e-14)
        torch.testing.assert_close(values, results[0][2], rtol=0, atol=1e-14)
    torch.testing.assert_close(results[0][2], results[0][1], rtol=0, atol=1e-15)  # values are the scores


def test_gradients_of_a_quadratic_match_the_closed_form():
    F, _, _ = prepare(quadratic, torch.ones(2, 2), internal_batch_size=1)
    points = torch.tensor([[[1.0, 2.0], [0.0, -1.0]], [[3.0, 0.5], [-2.0, 4.0]]])
    grads, scores = F.gradients(points)
    p1, p2 = points[..., 0], points[..., 1]
    torch.testing.assert_close(grads, torch.stack([2 * p1 + 2 * p2, 2 * p1 - 6 * p2], -1), rtol=0, atol=1e-15)
    torch.testing.assert_close(scores, p1**2 + 2 * p1 * p2 - 3 * p2**2, rtol=0, atol=1e-15)


def test_a_signal_weighs_the_backward_pass():
    # signal(F) = F gives F dF/dx = d(F^2 / 2)/dx
    F, _, _ = prepare(quadratic, torch.ones(1, 2))
    points = torch.tensor([[[1.0, 2.0]]])
    grads, _ = F.gradients(points, signal=lambda f: f)
    f = quadratic(points[0])
    torch.testing.assert_close(grads[0], f[:, None] * torch.tensor([[6.0, -10.0]]), rtol=0, atol=1e-14)


@pytest.mark.parametrize("ibs", [1, None])
def test_hessians_of_a_quadratic_are_constant_and_symmetric(ibs):
    F, _, _ = prepare(quadratic, torch.ones(2, 2), internal_batch_size=ibs)
    points = torch.randn(3, 2, 2)
    hessians, grads = F.hessians(points)
    assert hessians.shape == (3, 2, 2, 2)
    torch.testing.assert_close(hessians, torch.tensor([[2.0, 2.0], [2.0, -6.0]]).expand(3, 2, 2, 2), rtol=0, atol=1e-14)
    torch.testing.assert_close(grads, F.gradients(points)[0], rtol=0, atol=1e-14)


def test_tensor_arguments_are_repeated_with_every_point():
    model = lambda x, scale: (x * scale).sum(1)  # noqa: E731
    scale = torch.tensor([[1.0, 2.0], [3.0, -1.0]])
    F, _, _ = prepare(model, torch.ones(2, 2), additional_forward_args=scale, internal_batch_size=1)
    grads, _ = F.gradients(torch.randn(3, 2, 2))
    torch.testing.assert_close(grads, scale.expand(3, 2, 2), rtol=0, atol=0)


# ---------------------------------------------------------------- F(x) - F(x'), one example, shared points
def test_difference_is_the_target_score_at_x_minus_at_the_baseline():
    model = tanh_net(3)
    F, x, base = prepare(model, torch.randn(3, 3), torch.randn(3, 3), target=[2, 0, 1])
    with torch.no_grad():
        expected = model(x)[range(3), [2, 0, 1]] - model(base)[range(3), [2, 0, 1]]
    torch.testing.assert_close(F.difference(x, base), expected, rtol=0, atol=1e-15)
    f_x, f_base = F.ends(x, base)
    torch.testing.assert_close(f_x - f_base, expected, rtol=0, atol=1e-15)


def test_one_example_alone_scores_like_its_row_of_the_batch():
    model = tanh_net(4)
    F, x, _ = prepare(model, torch.randn(3, 3), target=[3, 1, 0])
    points = torch.randn(4, 3, 3)
    values = F.values(points)
    for i in range(3):
        one = F.example(i)
        assert one.n == 1 and one.first_example == i
        torch.testing.assert_close(one.values(points[:, i : i + 1]), values[:, i : i + 1], rtol=0, atol=1e-15)


def test_shared_points_are_scored_at_each_examples_target():
    model = tanh_net(5)
    F, _, _ = prepare(model, torch.randn(2, 3), target=[1, 2])
    refs = torch.randn(4, 3)
    with torch.no_grad():
        expected = model(refs)[:, [1, 2]]
    torch.testing.assert_close(F.shared(refs, "the references"), expected, rtol=0, atol=1e-15)


# ---------------------------------------------------------------- what F and dF/dx must be
def test_an_integer_or_detached_output_cannot_be_differentiated():
    with pytest.raises(ValueError, match=r"\(torch.int64\) cannot be differentiated.*an integer has no gradient"):
        differentiable(torch.ones(3, dtype=torch.long))
    with pytest.raises(ValueError, match="carries no autograd graph back to the inputs"):
        differentiable(torch.ones(3))
    f = torch.ones(3, requires_grad=True)
    assert differentiable(f) is f


def test_an_output_constant_in_the_inputs_has_zero_gradient():
    weight = torch.tensor(2.0, requires_grad=True)  # F depends on a parameter but not on x
    F, _, _ = prepare(lambda x: weight.expand(len(x)) * 1.0, torch.randn(2, 3))
    grads, scores = F.gradients(torch.randn(4, 2, 3))
    assert grads.abs().max() == 0
    torch.testing.assert_close(scores, torch.full((4, 2), 2.0), rtol=0, atol=0)


def test_an_output_that_changes_without_a_gradient_is_an_error():
    weight = torch.tensor(2.0, requires_grad=True)
    F, _, _ = prepare(lambda x: weight * x.detach().sum(1), torch.randn(2, 3))
    with pytest.raises(ValueError, match="changes between the points but has no gradient"):
        F.gradients(torch.randn(4, 2, 3))


def test_a_non_finite_gradient_names_the_example_and_its_alpha():
    F, _, _ = prepare(lambda x: torch.sqrt(x.abs()).sum(1), torch.ones(2, 3))
    points = torch.stack([torch.ones(2, 3), torch.zeros(2, 3)])
    points[1, 0] = 1.0  # only example 1 hits sqrt's singularity, at alpha = 0
    message = r"not finite \(nan or inf\) at the path points: example 1 at alpha = 0, in 3 of its 3"
    with pytest.raises(ValueError, match=message):
        F.gradients(points, alphas=torch.tensor([1.0, 0.0]))
    with pytest.raises(ValueError, match="example 1, point 1, in 3 of its 3 features"):
        F.gradients(points)


def test_a_non_finite_output_is_an_error_naming_the_examples():
    F, _, _ = prepare(lambda x: 1 / x.sum(1), torch.ones(3, 2))
    points = torch.ones(2, 3, 2)
    points[1, 2] = 0.0
    with pytest.raises(ValueError, match=r"model output is not finite \(nan or inf\) at the path points of examples \[2\]"):
        F.values(points)
