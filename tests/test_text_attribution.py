"""IG through embeddings: closed form, completeness, Captum's LayerIntegratedGradients, errors."""
import warnings

import pytest
import torch
from captum.attr import LayerIntegratedGradients
from torch import nn

from iglib.experiments.text import embedding_integrated_gradients, token_attributions
from iglib.integrated_gradients import integrated_gradients

pytestmark = pytest.mark.usefixtures("float64")


class ConvClassifier(nn.Module):
    """embedding -> conv (width 2) -> tanh -> max over positions -> 3 logits."""

    def __init__(self, vocab=12, dim=5, seed=0):
        super().__init__()
        torch.manual_seed(seed)
        self.embedding = nn.Embedding(vocab, dim, padding_idx=0)
        self.conv = nn.Conv1d(dim, 4, 2)
        self.out = nn.Linear(4, 3)

    def forward(self, ids):
        h = torch.tanh(self.conv(self.embedding(ids).transpose(1, 2))).amax(-1)
        return self.out(h)


class SmoothClassifier(nn.Module):
    """embedding -> tanh layer per token -> mean -> 3 logits: smooth, so quadrature converges fast."""

    def __init__(self, vocab=12, dim=5, seed=1):
        super().__init__()
        torch.manual_seed(seed)
        self.embedding = nn.Embedding(vocab, dim, padding_idx=0)
        self.hidden = nn.Linear(dim, 6)
        self.out = nn.Linear(6, 3)

    def forward(self, ids):
        return self.out(torch.tanh(self.hidden(self.embedding(ids))).mean(1))


class TinySeq2Seq(nn.Module):
    """Score of the next target token given source ids and the decoder's target ids (teacher forcing)."""

    def __init__(self, vocab=10, dim=4, seed=2):
        super().__init__()
        torch.manual_seed(seed)
        self.source_embedding = nn.Embedding(vocab, dim, padding_idx=0)
        self.target_embedding = nn.Embedding(vocab, dim, padding_idx=0)
        self.mix = nn.Linear(2 * dim, dim)
        self.out = nn.Linear(dim, vocab)

    def forward_from_embeddings(self, source_e, target_ids):
        context = source_e.mean(1)
        state = self.target_embedding(target_ids).mean(1)
        return self.out(torch.tanh(self.mix(torch.cat([context, state], 1)))).log_softmax(-1)

    def forward(self, source_ids, target_ids):
        return self.forward_from_embeddings(self.source_embedding(source_ids), target_ids)


IDS = torch.tensor([[3, 4, 5, 0], [6, 7, 8, 9], [1, 11, 0, 0]])


def test_pad_row_is_zero_so_pad_ids_are_the_zero_embedding_baseline():
    model = ConvClassifier()
    assert torch.all(model.embedding.weight[0] == 0)


@pytest.mark.parametrize("method", ["riemann_left", "riemann_right", "riemann_middle"])
def test_linear_model_gives_embedding_times_weight_exactly(method):
    # F(e) = sum_t w . e_t is linear, so IG_{t,d} = e_{t,d} w_d with any rule and any number of steps.
    emb = nn.Embedding(12, 5, padding_idx=0)
    w = torch.randn(5)

    class Linear(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = emb

        def forward(self, ids):
            return (self.embedding(ids) @ w).sum(1)

    attributions = embedding_integrated_gradients(Linear().eval(), emb, IDS, n_steps=3, method=method)
    assert attributions.shape == (3, 4, 5)
    torch.testing.assert_close(attributions, emb(IDS).detach() * w, atol=1e-14, rtol=0)


@pytest.mark.parametrize("method", ["gausslegendre", "riemann_right", "riemann_left", "riemann_middle"])
def test_agrees_with_captum_layer_integrated_gradients(method):
    model = ConvClassifier().eval()
    ours = embedding_integrated_gradients(model, model.embedding, IDS, target=[0, 2, 1], n_steps=24, method=method)
    # Captum: baseline ids all <pad>, whose embedding row is zero, so the layer's baseline is the zero embedding.
    theirs = LayerIntegratedGradients(model, model.embedding).attribute(
        IDS, baselines=torch.zeros_like(IDS), target=[0, 2, 1], n_steps=24, method=method
    )
    torch.testing.assert_close(ours, theirs, atol=1e-6, rtol=0)


def test_completeness_with_enough_steps():
    model = SmoothClassifier().eval()
    attributions, delta = embedding_integrated_gradients(
        model, model.embedding, IDS, target=2, n_steps=64, return_convergence_delta=True
    )
    with torch.no_grad():
        f_x = model(IDS)[:, 2]
        f_zero = model.out(torch.tanh(model.hidden(torch.zeros(3, 4, 5))).mean(1))[:, 2]
    assert torch.all(delta.abs() < 1e-6)
    torch.testing.assert_close(token_attributions(attributions).sum(1), f_x - f_zero, atol=1e-6, rtol=0)
    assert not torch.allclose(f_x, f_zero)  # the test is not trivial


def test_pad_tokens_get_no_attribution():
    model = SmoothClassifier().eval()
    scores = token_attributions(embedding_integrated_gradients(model, model.embedding, IDS, target=0))
    assert torch.all(scores[IDS == 0] == 0)
    assert torch.all(scores[IDS != 0] != 0)


def test_internal_batch_size_does_not_change_the_result():
    model = ConvClassifier().eval()
    full = embedding_integrated_gradients(model, model.embedding, IDS, target=1, n_steps=10)
    for size in (1, 4, 7, 100):
        chunked = embedding_integrated_gradients(model, model.embedding, IDS, target=1, n_steps=10, internal_batch_size=size)
        torch.testing.assert_close(chunked, full, atol=1e-14, rtol=0)


def test_additional_forward_args_reach_the_model():
    model = TinySeq2Seq().eval()
    source = torch.tensor([[2, 3, 4], [5, 6, 0]])
    prefix_a = torch.tensor([[1, 7], [1, 8]])
    prefix_b = torch.tensor([[1, 9], [1, 9]])
    ours, delta = embedding_integrated_gradients(
        model, model.source_embedding, source, target=[4, 5], additional_forward_args=prefix_a,
        n_steps=32, return_convergence_delta=True,
    )
    # The same IG with iglib's integrated_gradients on the model written as a function of the embeddings.
    direct = integrated_gradients(
        model.forward_from_embeddings, model.source_embedding(source).detach(), target=[4, 5],
        additional_forward_args=prefix_a, n_steps=32,
    )
    torch.testing.assert_close(ours, direct, atol=1e-12, rtol=0)
    theirs = LayerIntegratedGradients(model, model.source_embedding).attribute(
        source, baselines=torch.zeros_like(source), target=[4, 5], additional_forward_args=prefix_a, n_steps=32
    )
    torch.testing.assert_close(ours, theirs, atol=1e-6, rtol=0)
    assert torch.all(delta.abs() < 1e-6)
    other = embedding_integrated_gradients(model, model.source_embedding, source, target=[4, 5], additional_forward_args=prefix_b)
    assert not torch.allclose(ours, other)  # the decoder's ids were used


# ------------------------------------------------------------------------------- errors
def test_float_ids_are_refused_by_name():
    model = ConvClassifier().eval()
    with pytest.raises(TypeError, match="ids must hold integer token ids"):
        embedding_integrated_gradients(model, model.embedding, IDS.double(), target=0)


def test_ids_must_be_batch_by_tokens_and_in_range():
    model = ConvClassifier().eval()
    with pytest.raises(ValueError, match=r"ids must have shape \[N, T\]"):
        embedding_integrated_gradients(model, model.embedding, IDS[0], target=0)
    with pytest.raises(ValueError, match="ids holds ids from 0 to 12, but the embedding has 12 rows"):
        embedding_integrated_gradients(model, model.embedding, torch.tensor([[0, 12]]), target=0)


def test_embedding_must_be_an_embedding_of_the_model():
    model = ConvClassifier().eval()
    with pytest.raises(TypeError, match="embedding must be an nn.Embedding"):
        embedding_integrated_gradients(model, model.conv, IDS, target=0)
    with pytest.raises(ValueError, match="embedding is not a submodule of the model"):
        embedding_integrated_gradients(model, nn.Embedding(12, 5), IDS, target=0)


def test_target_out_of_range_names_target():
    model = ConvClassifier().eval()
    with pytest.raises(ValueError, match="target 3 is out of range for an output with 3 classes"):
        embedding_integrated_gradients(model, model.embedding, IDS, target=3)


def test_training_mode_warns():
    model = ConvClassifier().train()
    with pytest.warns(UserWarning, match="training mode"):
        embedding_integrated_gradients(model, model.embedding, IDS, target=0, n_steps=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        embedding_integrated_gradients(model.eval(), model.embedding, IDS, target=0, n_steps=2)


def test_an_embedding_called_twice_is_refused():
    class Shared(nn.Module):  # one embedding for source and target: its output cannot be replaced on ids alone
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(10, 3)

        def forward(self, ids, other):
            return (self.embedding(ids).sum((1, 2)) + self.embedding(other).sum((1, 2)))

    model = Shared().eval()
    with pytest.raises(ValueError, match="embedding (produced shape|was called 2 times)"):
        embedding_integrated_gradients(model, model.embedding, torch.tensor([[1, 2]]),
                                       additional_forward_args=torch.tensor([[3, 4, 5]]), n_steps=2)
    with pytest.raises(ValueError, match="was called 2 times"):
        embedding_integrated_gradients(model, model.embedding, torch.tensor([[1, 2]]),
                                       additional_forward_args=torch.tensor([[3, 4]]), n_steps=2)
