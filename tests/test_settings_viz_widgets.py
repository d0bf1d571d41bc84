"""Run settings (mode, device), deterministic figures, and the slider-figure pattern."""
import hashlib
from pathlib import Path

import ipywidgets as widgets
import matplotlib
import matplotlib.pyplot as plt
import pytest
import torch

from iglib import settings, viz
from iglib.widgets import slider_figure

matplotlib.use("Agg")


def test_mode_reads_the_environment(monkeypatch):
    monkeypatch.setenv("IGLIB_FULL_ON_CPU", "1")
    monkeypatch.setenv("IGLIB_MODE", "full")
    assert settings.mode() == "full" and settings.pick(fast=1, full=2) == 2
    monkeypatch.setenv("IGLIB_MODE", "FAST")
    assert settings.mode() == "fast" and settings.pick(fast=1, full=2) == 1
    monkeypatch.delenv("IGLIB_MODE")
    assert settings.mode() == ("full" if torch.cuda.is_available() else "fast")
    monkeypatch.setenv("IGLIB_MODE", "turbo")
    with pytest.raises(ValueError, match="IGLIB_MODE must be 'fast' or 'full', got 'turbo'"):
        settings.mode()


@pytest.mark.skipif(torch.cuda.is_available(), reason="the message is for machines without a GPU")
def test_full_mode_without_a_gpu_says_how_to_fix_it(monkeypatch):
    monkeypatch.delenv("IGLIB_FULL_ON_CPU", raising=False)
    monkeypatch.setenv("IGLIB_MODE", "full")
    with pytest.raises(RuntimeError, match="expects a CUDA GPU.*IGLIB_MODE=fast.*IGLIB_FULL_ON_CPU=1"):
        settings.pick(fast=1, full=2)
    monkeypatch.setenv("IGLIB_FULL_ON_CPU", "1")
    assert settings.pick(fast=1, full=2) == 2


def test_device_is_cuda_only_when_present():
    assert settings.device().type == ("cuda" if torch.cuda.is_available() else "cpu")


def test_savefig_is_deterministic(monkeypatch, tmp_path):
    monkeypatch.setenv("IGLIB_FIGURES_DIR", str(tmp_path))
    digests = []
    for _ in range(2):
        fig, ax = plt.subplots()
        ax.plot([0, 1, 4])
        assert viz.savefig(fig, "demo") == "figures/demo.png"
        plt.close(fig)
        digests.append(hashlib.sha256((tmp_path / "demo.png").read_bytes()).hexdigest())
    assert digests[0] == digests[1]


@pytest.mark.parametrize("name", ["../escaped", "imagenet/../../escaped", "/tmp/absolute", "", "../.."])
def test_savefig_refuses_names_outside_the_figures_folder(monkeypatch, tmp_path, name):
    monkeypatch.setenv("IGLIB_FIGURES_DIR", str(tmp_path / "figures"))
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match=r"name must be a file name inside the figures folder"):
        viz.savefig(fig, name)
    plt.close(fig)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_savefig_accepts_a_subfolder(monkeypatch, tmp_path):
    monkeypatch.setenv("IGLIB_FIGURES_DIR", str(tmp_path))
    fig, ax = plt.subplots()
    assert viz.savefig(fig, "imagenet/fireboat.png") == "figures/imagenet/fireboat.png"
    plt.close(fig)
    assert (tmp_path / "imagenet" / "fireboat.png").is_file()
    with pytest.raises(TypeError, match="name must be a str"):
        viz.savefig(fig, Path("x"))


def test_slider_figure_redraws_when_a_slider_moves():
    calls = []

    def draw(alpha, steps):
        calls.append((alpha, steps))
        fig, ax = plt.subplots()
        ax.plot([0, alpha])
        return {"alpha": alpha, "steps": steps}

    sf = slider_figure(draw, alpha=widgets.FloatSlider(value=0.5), steps=widgets.IntSlider(value=10))
    assert sf.last == {"alpha": 0.5, "steps": 10}
    sf.sliders["alpha"].value = 0.75
    assert sf.last == {"alpha": 0.75, "steps": 10}
    sf.sliders["steps"].value = 20
    assert sf.last == {"alpha": 0.75, "steps": 20}
    assert calls[-1] == (0.75, 20)
    assert isinstance(sf.widget, widgets.VBox)
    assert plt.get_fignums() == []  # every redraw closes its figure


def test_slider_figure_reads_a_position_without_drawing_it(monkeypatch):
    shown = []
    monkeypatch.setattr(plt, "show", lambda *a, **k: shown.append(plt.get_fignums()))

    def draw(alpha):
        plt.subplots()
        return {"alpha": alpha}

    sf = slider_figure(draw, alpha=widgets.FloatSlider(value=0.5))
    count = len(shown)
    assert sf.update(alpha=0.25, show=False) == {"alpha": 0.25} and len(shown) == count
    assert sf.update(alpha=0.75) == {"alpha": 0.75} and len(shown) == count + 1
    assert plt.get_fignums() == []
    with pytest.raises(ValueError, match="show"):
        slider_figure(draw, show=widgets.Checkbox())
