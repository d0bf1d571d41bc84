"""Deletion and insertion curves: closed forms on a linear model, where the exact attribution is known."""
import pytest
import torch

from iglib import evaluation as ev


def linear(w):
    return lambda x: (x.reshape(len(x), -1) * w.reshape(1, -1)).sum(dim=1)


@pytest.fixture
def example(float64):
    torch.manual_seed(0)
    w, x = torch.randn(12), torch.randn(3, 12)
    return w, x, w * x  # exact attribution of F = w.x against the zero baseline


def test_on_a_linear_model_the_deletion_curve_is_f_minus_the_sorted_partial_sums(example):
    w, x, exact = example
    curve = ev.deletion_curve(linear(w), x, exact, n_points=12)
    assert torch.equal(curve.fractions, torch.arange(13, dtype=torch.float64) / 12)
    expected = exact.sum(1, keepdim=True) - torch.cat([torch.zeros(3, 1), exact.sort(1, descending=True).values.cumsum(1)], 1)
    torch.testing.assert_close(curve.scores, expected)
    insertion = ev.insertion_curve(linear(w), x, exact, n_points=12)
    torch.testing.assert_close(insertion.scores, exact.sum(1, keepdim=True) - expected)


def test_the_exact_attribution_beats_its_reverse_and_a_random_ranking(example):
    w, x, exact = example
    model = linear(w)
    delete = {name: ev.deletion_curve(model, x, a, n_points=12).area()
              for name, a in {"exact": exact, "reverse": -exact, "random": ev.random_attributions(x)}.items()}
    insert = {name: ev.insertion_curve(model, x, a, n_points=12).area()
              for name, a in {"exact": exact, "reverse": -exact, "random": ev.random_attributions(x)}.items()}
    assert (delete["exact"] < delete["random"]).all() and (delete["random"] < delete["reverse"]).all()
    assert (insert["exact"] > insert["random"]).all() and (insert["random"] > insert["reverse"]).all()


def test_curves_run_from_f_x_to_f_reference_with_any_baseline(example):
    w, x, exact = example
    reference = torch.full_like(x, 0.5)
    curve = ev.deletion_curve(linear(w), x, exact, baselines=reference, n_points=4)
    torch.testing.assert_close(curve.scores[:, 0], linear(w)(x))
    torch.testing.assert_close(curve.scores[:, -1], linear(w)(reference))
    back = ev.insertion_curve(linear(w), x, exact, baselines=reference, n_points=4)
    torch.testing.assert_close(back.scores[:, 0], linear(w)(reference))
    torch.testing.assert_close(back.scores[:, -1], linear(w)(x))


def test_image_pixels_move_with_all_their_channels(float64):
    # F counts the channels of pixel (0, 0) that are 1; the attribution ranks that pixel first.
    model = lambda v: v[:, :, 0, 0].sum(1)
    x = torch.ones(1, 3, 2, 2)
    a = torch.zeros_like(x)
    a[0, 0, 0, 0] = 1.0  # one channel is enough to rank the whole pixel first
    curve = ev.deletion_curve(model, x, a, baselines=0.0, n_points=4)
    assert curve.scores[0].tolist() == [3.0, 0.0, 0.0, 0.0, 0.0]
    assert ev.feature_ranking(a).shape == (1, 4)


def test_targets_per_example_and_internal_batches_give_the_same_curve(float64):
    torch.manual_seed(1)
    w = torch.randn(5, 3)
    model = lambda v: v @ w
    x = torch.randn(4, 5)
    a = torch.randn(4, 5)
    whole = ev.deletion_curve(model, x, a, target=[0, 1, 2, 0], n_points=5)
    chunked = ev.deletion_curve(model, x, a, target=torch.tensor([0, 1, 2, 0]), n_points=5, internal_batch_size=3)
    torch.testing.assert_close(whole.scores, chunked.scores)


def test_area_is_the_trapezoid_rule():
    assert ev.area(torch.tensor([0.0, 0.5, 1.0]), torch.tensor([1.0, 1.0, 0.0])).item() == pytest.approx(0.75)
    with pytest.raises(ValueError, match="one value per fraction"):
        ev.area(torch.tensor([0.0, 1.0]), torch.tensor([1.0, 2.0, 3.0]))


@pytest.mark.parametrize("attributions, n_points, match", [
    (torch.zeros(2, 3), 4, r"attributions must be a tensor shaped like inputs \(2, 4\), got \(2, 3\)"),
    ("map", 4, "got str"),
    (torch.full((2, 4), float("nan")), 4, "nan or inf"),
    (torch.zeros(2, 4), 0, "n_points must be a positive int"),
    (torch.zeros(2, 4), 2.5, "n_points must be a positive int"),
])
def test_bad_arguments_are_named(attributions, n_points, match):
    with pytest.raises(ValueError, match=match):
        ev.deletion_curve(lambda v: v.sum(1), torch.zeros(2, 4), attributions, n_points=n_points)
