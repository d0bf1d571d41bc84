"""Remove and retrain: the removal itself, and ROAR on a case whose answer is known in closed form."""
import pytest
import torch

from iglib.checks import roar


def test_the_top_features_are_removed_and_ties_are_broken_at_random():
    x = torch.arange(1.0, 7.0).reshape(1, 6)
    a = torch.tensor([[3.0, 1.0, 2.0, 0.0, 0.0, 0.0]])
    assert roar.remove_top(x, a, 2 / 6, fill=-1.0).tolist() == [[-1.0, 2.0, -1.0, 4.0, 5.0, 6.0]]
    assert roar.remove_top(x, a, 0.5, fill=-1.0).tolist() == [[-1.0, -1.0, -1.0, 4.0, 5.0, 6.0]]
    assert torch.equal(roar.remove_top(x, a, 0.0, fill=-1.0), x)
    assert (roar.remove_top(x, a, 1.0, fill=-1.0) == -1).all()
    # three features tie at 0: the fourth one removed is one of them, chosen by the seed, not by position
    chosen = {tuple(roar.remove_top(x, a, 4 / 6, fill=-1.0, seed=s)[0, 3:].eq(-1).nonzero().flatten().tolist())
              for s in range(20)}
    assert chosen == {(0,), (1,), (2,)}


def test_an_image_loses_whole_pixels_ranked_by_their_channel_sum():
    x = torch.ones(1, 3, 2, 2)
    a = torch.zeros_like(x)
    a[0, :, 1, 0] = torch.tensor([2.0, -1.0, 0.5])   # sum 1.5: the top pixel
    a[0, 0, 0, 1] = 1.0
    out = roar.remove_top(x, a, 0.25, fill=0.0)
    assert (out[0, :, 1, 0] == 0).all() and out.sum() == 9


def nearest_centroid(x, y, seed):
    """A 'network' with a closed-form training: score_k = -|x - c_k|^2 (ties go to class 0)."""
    centroids = torch.stack([x[y == k].mean(0) for k in range(2)])
    return lambda v: -torch.cdist(v, centroids) ** 2


def test_roar_on_a_case_with_one_informative_feature():
    # feature 0 is the label; features 1-3 are 0.5 everywhere, the value removed features get
    y = torch.tensor([0, 1] * 4)
    x = torch.full((8, 4), 0.5, dtype=torch.float64)
    x[:, 0] = y.double()
    right = torch.tensor([[1.0, 0.0, 0.0, 0.0]]).expand(8, 4)   # ranks the informative feature first
    wrong = torch.tensor([[0.0, 1.0, 2.0, 3.0]]).expand(8, 4)   # ranks it last
    calls = []
    def train(xs, ys, seed):
        calls.append(seed)
        return nearest_centroid(xs, ys, seed)
    model = nearest_centroid(x, y, 0)
    result = roar.remove_and_retrain(train, model, (x, y), (x, y), {"right": (right, right), "wrong": (wrong, wrong)},
                                     fractions=[0.0, 0.25, 0.75, 1.0], seeds=[0, 1], fill=0.5)
    assert result.retrained["right"].tolist() == [[1.0, 1.0], [0.5, 0.5], [0.5, 0.5], [0.5, 0.5]]
    assert result.retrained["wrong"].tolist() == [[1.0, 1.0], [1.0, 1.0], [1.0, 1.0], [0.5, 0.5]]
    assert result.not_retrained["right"].tolist() == [1.0, 0.5, 0.5, 0.5]
    assert len(calls) == 2 + 2 * 3 * 2          # fraction 0 once per seed, shared by both methods
    assert result.area("right") == pytest.approx(0.25 * 0.75 + 0.75 * 0.5)
    assert result.area("wrong") == pytest.approx(0.75 + 0.25 * 0.75)


def test_the_digits_and_the_small_network():
    (x_train, y_train), (x_test, y_test) = roar.digits()
    assert x_train.shape == (1257, 64) and x_test.shape == (540, 64) and x_train.dtype == torch.float64
    assert x_train.min() == 0 and x_train.max() == 1
    assert len(torch.bincount(y_test)) == 10 and torch.bincount(y_test).min() >= 50   # stratified: every digit is tested
    net = roar.train_classifier(x_train, y_train, seed=0)
    assert roar.accuracy(net, x_test, y_test) > 0.95
    again = roar.train_classifier(x_train, y_train, seed=0)
    assert torch.equal(net(x_test), again(x_test))


@pytest.mark.parametrize("call, error, match", [
    (lambda: roar.remove_top(torch.zeros(2, 3), torch.zeros(2, 4), 0.5, 0.0), ValueError, "attributions must be shaped like inputs"),
    (lambda: roar.remove_top(torch.zeros(2, 3), torch.zeros(2, 3), 1.5, 0.0), ValueError, "fraction must be a number from 0 to 1"),
    (lambda: roar.remove_top([0.0], torch.zeros(1), 0.5, 0.0), TypeError, "inputs and attributions must be torch.Tensors"),
    (lambda: roar.remove_and_retrain(nearest_centroid, lambda v: v, (torch.zeros(2, 2), torch.zeros(2)),
                                     (torch.zeros(2, 2), torch.zeros(2)), {}, [0.5, 0.1], [0]), ValueError, "fractions must rise"),
    (lambda: roar.remove_and_retrain(nearest_centroid, lambda v: v, (torch.zeros(2, 2), torch.zeros(2)),
                                     (torch.zeros(2, 2), torch.zeros(2)), {"m": torch.zeros(2, 2)}, [0.0], [0]),
     ValueError, r"attributions\['m'\] must be a pair"),
    (lambda: roar.train_classifier(torch.zeros(2, 2, 2), torch.zeros(2, dtype=torch.long)), ValueError, "inputs must be a 2-D tensor"),
])
def test_bad_roar_arguments_are_named(call, error, match):
    with pytest.raises(error, match=match):
        call()
