"""Deletion and insertion curves: closed forms on a linear model, where the exact attribution is known."""
import numpy as np
import pytest
import torch

from iglib.checks import evaluation as ev


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


def test_float_rounding_does_not_reorder_the_features():
    """Differences far below RESOLUTION of the largest |a| (another CPU's rounding) leave the ranking as it
    is; differences above it order the features; equal ones keep their input order."""
    a = torch.tensor([[0.5, 0.2, 0.2 + 1e-9, 1.0, -0.3, 0.2 - 1e-9]], dtype=torch.float64)
    assert ev.feature_ranking(a).tolist() == [[3, 0, 1, 2, 5, 4]]
    assert ev.feature_ranking(a + 1e-8 * torch.randn(1, 6, dtype=torch.float64)).tolist() == [[3, 0, 1, 2, 5, 4]]
    assert ev.feature_ranking(torch.tensor([[0.0, 1.0, 1.0 + 2 * ev.RESOLUTION]])).tolist() == [[2, 1, 0]]
    assert ev.feature_ranking(torch.zeros(1, 3)).tolist() == [[0, 1, 2]]


@pytest.mark.parametrize("attributions, n_points, match", [
    (torch.zeros(2, 3), 4, r"attributions must be a tensor shaped like inputs \(2, 4\), got \(2, 3\)"),
    ("map", 4, "got str"),
    (torch.full((2, 4), float("nan")), 4, "nan or inf"),
    (torch.zeros(2, 4), 0, "n_points must be >= 1, got 0"),
])
def test_bad_arguments_are_named(attributions, n_points, match):
    with pytest.raises(ValueError, match=match):
        ev.deletion_curve(lambda v: v.sum(1), torch.zeros(2, 4), attributions, n_points=n_points)


def test_counts_must_be_whole_numbers_and_numpy_integers_are_counts():
    """The count checks are iglib.arguments': a TypeError for a non-integer, numpy integers accepted."""
    with pytest.raises(TypeError, match="n_points must be an int >= 1, got 2.5"):
        ev.deletion_curve(lambda v: v.sum(1), torch.zeros(2, 4), torch.zeros(2, 4), n_points=2.5)
    assert ev.spaced_fractions(np.int64(2)).tolist() == [0.0, 0.25, 1.0]
    assert ev.paired_bootstrap([1.0, 2.0], n_resamples=np.int32(5), seed=np.int64(0))[0] == 1.5
    with pytest.raises(TypeError, match="size must be an int >= 1, got 1.0"):
        ev.in_groups(lambda m, v: v, lambda v: v, torch.zeros(2, 4), size=1.0)


# ---------------------------------------------------------------- fractions, groups, paired comparisons
def test_spaced_fractions_are_denser_at_the_start():
    assert ev.spaced_fractions(4).tolist() == [0.0, 1 / 16, 1 / 4, 9 / 16, 1.0]
    assert ev.spaced_fractions(4, power=1).tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    with pytest.raises(ValueError, match="n_points must be >= 1, got 0"):
        ev.spaced_fractions(0)
    with pytest.raises(ValueError, match="power must be a finite number > 0"):
        ev.spaced_fractions(4, power=0)


def test_curves_at_chosen_fractions_are_the_sorted_partial_sums_there(example):
    w, x, exact = example
    curve = ev.deletion_curve(linear(w), x, exact, fractions=[0.0, 0.25, 0.5, 1.0])
    assert curve.fractions.tolist() == [0.0, 0.25, 0.5, 1.0]
    partial = torch.cat([torch.zeros(3, 1), exact.sort(1, descending=True).values.cumsum(1)], 1)  # 12 features
    torch.testing.assert_close(curve.scores, exact.sum(1, keepdim=True) - partial[:, [0, 3, 6, 12]])
    even = ev.deletion_curve(linear(w), x, exact, n_points=4)
    torch.testing.assert_close(ev.deletion_curve(linear(w), x, exact, fractions=ev.spaced_fractions(4, 1)).scores, even.scores)


@pytest.mark.parametrize("fractions, error, match", [
    ([0.1, 1.0], ValueError, "fractions must rise strictly from 0 to 1"),
    ([0.0, 0.5, 0.5, 1.0], ValueError, "fractions must rise strictly from 0 to 1"),
    ([0.0, 0.9], ValueError, "fractions must rise strictly from 0 to 1"),
    ("0 1", TypeError, "fractions must be a sequence"),
])
def test_bad_fractions_are_named(fractions, error, match):
    with pytest.raises(error, match=match):
        ev.deletion_curve(lambda v: v.sum(1), torch.zeros(2, 4), torch.zeros(2, 4), fractions=fractions)


def test_in_groups_gives_each_example_the_answer_of_one_call(float64):
    import iglib

    torch.manual_seed(2)
    w = torch.randn(5, 3)
    model = lambda v: torch.tanh(v @ w)
    x, reference, target = torch.randn(5, 5), torch.randn(5, 5), torch.tensor([0, 1, 2, 0, 1])
    whole = iglib.integrated_gradients(model, x, reference, target=target, n_steps=8, return_convergence_delta=True)
    grouped = ev.in_groups(iglib.integrated_gradients, model, x, reference, target=target, n_steps=8,
                           return_convergence_delta=True, size=2)
    for a, b in zip(whole, grouped):
        torch.testing.assert_close(a, b)
    a = torch.randn(5, 5)
    curve = ev.in_groups(ev.insertion_curve, model, x, a, target=target.tolist(), baselines=0.0, n_points=5, size=3)
    torch.testing.assert_close(curve.scores, ev.insertion_curve(model, x, a, target=target, baselines=0.0, n_points=5).scores)
    # fractions are not per example, even when there happen to be N of them
    five = [0.0, 0.1, 0.3, 0.6, 1.0]
    curve = ev.in_groups(ev.deletion_curve, model, x, a, target=target, baselines=reference, fractions=five, size=2)
    torch.testing.assert_close(curve.scores, ev.deletion_curve(model, x, a, target=target, baselines=reference, fractions=five).scores)
    with pytest.raises(ValueError, match="size must be >= 1, got 0"):
        ev.in_groups(iglib.gradient, model, x, size=0)
    with pytest.raises(TypeError, match="function must return"):
        ev.in_groups(lambda m, v: v.tolist(), model, x, size=2)


def test_the_bootstrap_of_two_values_is_their_three_possible_means():
    # d = (0, 1): a resample's mean is 0, 1/2 or 1 with probabilities 1/4, 1/2, 1/4
    assert ev.paired_bootstrap([0.0, 1.0]) == (0.5, 0.0, 1.0)
    assert ev.paired_bootstrap([0.0, 1.0], confidence=0.4) == (0.5, 0.5, 0.5)   # the 30% and 70% quantiles
    assert ev.paired_bootstrap([0.25] * 7) == (0.25, 0.25, 0.25)


def test_the_bootstrap_interval_of_a_proportion_matches_the_binomial():
    import scipy.stats

    d = [1.0] * 5 + [0.0] * 15   # a resample's mean is Binomial(20, 1/4) / 20
    mean, low, high = ev.paired_bootstrap(d, n_resamples=20_000)
    assert mean == 0.25
    assert low == pytest.approx(scipy.stats.binom.ppf(0.025, 20, 0.25) / 20, abs=0.051)
    assert high == pytest.approx(scipy.stats.binom.ppf(0.975, 20, 0.25) / 20, abs=0.051)
    assert ev.paired_bootstrap(d, seed=3) == ev.paired_bootstrap(d, seed=3)


def test_win_counts_and_the_verdict():
    a, b = [1.0, 2.0, 3.0, 4.0], [2.0, 2.0, 2.0, 2.0]
    assert ev.win_counts(a, b, "larger") == (2, 1, 1)
    assert ev.win_counts(a, b, "smaller") == (1, 1, 2)
    assert ev.win_counts(a, b, "larger", tie=1.0) == (1, 3, 0)
    result = ev.paired_comparison(a, b, better="larger")
    assert result.differences.tolist() == [-1.0, 0.0, 1.0, 2.0] and result.win_rate == 0.625
    assert result.verdict == "no clear difference"          # the interval straddles 0
    ahead = ev.paired_comparison([0.20, 0.30, 0.25], [0.10, 0.10, 0.10], better="larger", tie=0.01)
    assert ahead.verdict == "better" and ahead.wins == 3 and ahead.low == pytest.approx(0.1)
    assert ev.paired_comparison([0.20, 0.30, 0.25], [0.10, 0.10, 0.10], better="smaller").verdict == "worse"
    assert ev.paired_comparison([0.20, 0.30, 0.25], [0.10, 0.10, 0.10], better="larger", tie=0.2).verdict == "no clear difference"


@pytest.mark.parametrize("call, error, match", [
    (lambda: ev.win_counts([1.0, 2.0], [1.0], "larger"), ValueError, "a and b must hold one value per example"),
    (lambda: ev.win_counts([1.0], [1.0], "lower"), ValueError, "better must be 'smaller' or 'larger'"),
    (lambda: ev.win_counts([1.0], [1.0], "larger", tie=-1), ValueError, "tie must be a finite number >= 0"),
    (lambda: ev.paired_bootstrap([1.0, float("nan")]), ValueError, "differences holds nan"),
    (lambda: ev.paired_bootstrap("1 2"), TypeError, "differences must be a sequence"),
    (lambda: ev.paired_bootstrap([1.0], confidence=95), ValueError, "confidence must be a number between 0 and 1"),
    (lambda: ev.paired_bootstrap([1.0], n_resamples=0), ValueError, "n_resamples must be >= 1"),
    (lambda: ev.paired_bootstrap([1.0], confidence=1), ValueError, "confidence must be a number between 0 and 1, got 1"),
    (lambda: ev.paired_comparison(torch.zeros(2, 2), torch.zeros(2, 2)), ValueError, "a must be 1-D"),
])
def test_bad_paired_arguments_are_named(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_high_frequency_share_of_white_noise_is_one_minus_pi_cutoff_squared():
    noise = torch.randn(3, 256, 256, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert ev.high_frequency_share(noise) == pytest.approx(1 - np.pi / 16, abs=0.01)
    assert ev.high_frequency_share(noise[0], cutoff=0.1) == pytest.approx(1 - np.pi * 0.01, abs=0.01)


def test_a_smooth_map_has_no_high_frequencies_and_a_checkerboard_only_high_ones():
    y, x = np.mgrid[:64, :64]
    blob = np.exp(-((x - 30.0) ** 2 + (y - 34.0) ** 2) / (2 * 8.0**2))
    assert ev.high_frequency_share(blob) < 1e-6
    checkerboard = 1.0 + (x + y) % 2  # |a| alternates 1, 2: all its energy at (0.5, 0.5)
    assert ev.high_frequency_share(checkerboard) == pytest.approx(1.0)
    assert ev.high_frequency_share(-torch.tensor(blob)[None]) < 1e-6  # |a|: the sign is not noise
    assert np.isnan(ev.high_frequency_share(np.ones((8, 8))))


@pytest.mark.parametrize("value, cutoff, match", [
    (np.zeros(10), 0.25, r"one map, \[C, H, W\] or \[H, W\], got shape \(10,\)"),
    (np.zeros((2, 3, 8, 8)), 0.25, r"got shape \(2, 3, 8, 8\)"),
    (np.zeros((8, 8)), 0.5, "cutoff must lie between 0 and 0.5 .* got 0.5"),
])
def test_bad_maps_are_named(value, cutoff, match):
    with pytest.raises(ValueError, match=match):
        ev.high_frequency_share(value, cutoff=cutoff)
