"""Cascading randomisation: the gradient of a randomised network changes, a model-blind map does not."""
import torch
from torch import nn

from iglib import gradient
from iglib.checks import sanity
from iglib.experiments import imagenet


def network():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 3)).eval()


LAYERS = [("top", ["4"]), ("middle", ["2"]), ("bottom", ["0"])]


def test_randomize_changes_the_named_layers_only_and_the_model_given_is_untouched():
    model = network()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    stages = sanity.cascading_randomization(model, LAYERS, lambda net: {"weights": net[4].weight.clone()})
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert [label for label, _ in stages] == ["trained", "top", "middle", "bottom"]
    assert not torch.equal(stages[0][1]["weights"], stages[1][1]["weights"])
    copy = network()
    sanity.randomize(copy, ["2"], seed=3)
    assert torch.equal(copy[0].weight, model[0].weight) and torch.equal(copy[4].weight, model[4].weight)
    assert not torch.equal(copy[2].weight, model[2].weight)
    again = network()
    sanity.randomize(again, ["2"], seed=3)
    assert torch.equal(again[2].weight, copy[2].weight)  # seeded


def test_the_gradient_depends_on_the_weights_and_a_model_blind_map_does_not():
    model = network()
    x = torch.randn(1, 16, generator=torch.Generator().manual_seed(1))

    def explain(net):
        return {"gradient": gradient(net, x, target=0)[0], "input": x[0].clone()}

    table = sanity.similarity_table(sanity.cascading_randomization(model, LAYERS, explain))
    assert table["input"].tolist() == [1.0] * 4           # fails the check: it never looks at the model
    assert table["gradient"][0] == 1.0 and table["gradient"][-1] < 0.5


def test_mask_sums_absolute_values_over_channels():
    a = torch.tensor([[[1.0, -2.0]], [[-3.0, 0.5]], [[0.0, 1.0]]])  # [3, 1, 2]
    assert sanity.mask(a).tolist() == [[4.0, 3.5]]
    assert sanity.mask(a[None]).tolist() == [[4.0, 3.5]]


def test_the_imagenet_layers_cover_every_parameter_once():
    model = imagenet.EfficientNetLite0()
    names = [n for _, group in imagenet.layers_top_down(model) for n in group]
    owned = {p for n in names for p in model.get_submodule(n).parameters()}
    assert len(owned) == len(list(model.parameters()))
    assert imagenet.layers_top_down(model)[0] == ("logits (fc)", ["_fc"])
