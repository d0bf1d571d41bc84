"""The baseline-interpolation slider shows x' + alpha (x - x') for an image and embeddings."""
import matplotlib
import matplotlib.pyplot as plt
import pytest
import torch

from iglib.widgets.baselines import interpolation_widget

matplotlib.use("Agg")


def _inputs():
    g = torch.Generator().manual_seed(0)
    image = torch.rand(6, 8, 3, generator=g, dtype=torch.float64)
    embeddings = torch.randn(3, 5, generator=g, dtype=torch.float64)
    return image, embeddings, ["good", "morning", "all"]


def test_slider_moves_from_the_black_image_and_zero_embedding_to_the_input():
    image, embeddings, tokens = _inputs()
    sf = interpolation_widget(image, embeddings, tokens, steps=10)
    assert sf.last["alpha"] == pytest.approx(0.5)  # the initial draw
    norms = embeddings.norm(dim=-1)
    for alpha in (0.0, 0.3, 1.0):
        sf.sliders["alpha"].value = alpha
        assert sf.last["alpha"] == pytest.approx(alpha)
        assert sf.last["mean_pixel"] == pytest.approx(alpha * image.mean().item(), abs=1e-12)
        assert sf.last["embedding_norms"] == pytest.approx((alpha * norms).tolist(), abs=1e-12)
    sf.sliders["alpha"].value = 0.0
    assert sf.last["mean_pixel"] == 0.0 and sf.last["embedding_norms"] == [0.0, 0.0, 0.0]
    assert plt.get_fignums() == []


def test_other_baselines_are_the_alpha_zero_end():
    image, embeddings, tokens = _inputs()
    sf = interpolation_widget(image, embeddings, tokens, image_baseline=0.5, embedding_baseline=embeddings, steps=4)
    sf.sliders["alpha"].value = 0.0
    assert sf.last["mean_pixel"] == pytest.approx(0.5)
    sf.sliders["alpha"].value = 0.25
    assert sf.last["mean_pixel"] == pytest.approx(0.5 + 0.25 * (image.mean().item() - 0.5))
    assert sf.last["embedding_norms"] == pytest.approx(embeddings.norm(dim=-1).tolist())  # x' = x: no motion


def test_shapes_are_checked():
    image, embeddings, tokens = _inputs()
    with pytest.raises(ValueError, match=r"image must be \[H, W, 3\]"):
        interpolation_widget(image[..., 0], embeddings, tokens)
    with pytest.raises(ValueError, match="one row per token"):
        interpolation_widget(image, embeddings, tokens[:2])
