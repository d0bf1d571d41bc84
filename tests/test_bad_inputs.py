"""Every public attribution function against the classes of bad input a fuzz found (issue 15).

Each row of ``CASES`` is one class of bad input; each entry of ``FUNCTIONS`` calls one public
function the same way. The test asserts the error type and that the message names the argument
(and, where it matters, quotes the user's batch rather than steps x batch). Per-example tuple
targets (Captum's convention) must give every method the same result as int targets on a
flattened output, and IG must match Captum on them.
"""
from __future__ import annotations

import functools
import re
import shutil
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

import pytest
import torch
from torch import nn

import iglib
import iglib.text
from iglib import axioms
from iglib.lime import lime_image, lime_tabular
from iglib.memory import auto_batch_size
from iglib.surrogate import global_surrogate

N = 2
SHAPE = (N, 1, 2, 3)  # images of 1 x 2 x 3, so that lime_image applies too


class Net(nn.Module):
    """Flatten -> Linear -> ReLU -> Linear: 6 features, ``outputs`` classes (piecewise linear, for exact IG)."""

    def __init__(self, outputs: int = 3, dropout: bool = False):
        super().__init__()
        torch.manual_seed(0)
        layers = [nn.Flatten(), nn.Linear(6, 8), nn.ReLU()] + ([nn.Dropout(0.5)] if dropout else []) + [nn.Linear(8, outputs)]
        self.body = nn.Sequential(*layers)
        self.eval()

    def forward(self, x):
        return self.body(x)


class Grid(Net):
    """An output [N, 3, 2] per example: targets are tuples (i, j)."""

    def __init__(self):
        super().__init__(outputs=6)

    def forward(self, x):
        return self.body(x).reshape(-1, 3, 2)


class Scaled(Net):
    """Takes an additional argument: one scale per example."""

    def forward(self, x, scale):
        return self.body(x) * scale[:, None]


class LogSum(nn.Module):
    """log(sum x): -inf at the zero baseline."""

    def forward(self, x):
        return torch.log(x.flatten(1).sum(1, keepdim=True).clamp(min=0)).expand(-1, 3)


def _inputs() -> torch.Tensor:
    return torch.rand(SHAPE) + 0.5


def _seg() -> torch.Tensor:
    return torch.arange(6).reshape(2, 3)


# Each public function called the common way: f(model, inputs, baselines=, target=, additional_forward_args=, **extra).
def _path_ig(model, inputs, baselines=None, n_steps=4, **kw):
    return iglib.path_integrated_gradients(model, inputs, iglib.straight_line(baselines, inputs), n_steps=n_steps, **kw)


def _lime_image(model, inputs, n_samples=20, **kw):
    return lime_image(model, inputs, _seg(), n_samples=n_samples, seed=0, **kw)


def _axiom(check, model, inputs, baselines=None, target=None, additional_forward_args=None, **kw):
    return check(iglib.gradient_x_input, model, inputs, baselines, target=target, **kw)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "integrated_gradients": functools.partial(iglib.integrated_gradients, n_steps=4),
    "adaptive_integrated_gradients": functools.partial(iglib.adaptive_integrated_gradients, n_steps=9),
    "interior_gradients": functools.partial(iglib.interior_gradients, n_steps=4),
    "path_integrated_gradients": _path_ig,
    "guided_integrated_gradients": functools.partial(iglib.guided_integrated_gradients, n_steps=4),
    "blur_integrated_gradients": functools.partial(iglib.blur_integrated_gradients, n_steps=4, max_sigma=1.0),
    "integrated_hessians": functools.partial(iglib.integrated_hessians, n_steps=4),
    "shapley_values": iglib.shapley_values,
    "exact_integrated_gradients": iglib.exact_integrated_gradients,
    "breakpoints": iglib.breakpoints,
    "gradient": iglib.gradient,
    "gradient_x_input": iglib.gradient_x_input,
    "deconvnet": iglib.deconvnet,
    "guided_backprop": iglib.guided_backprop,
    "deeplift": iglib.deeplift,
    "lrp": iglib.lrp,
    "smoothgrad": functools.partial(iglib.smoothgrad, n_samples=3, seed=0),
    "expected_gradients": functools.partial(iglib.expected_gradients, n_samples=3, seed=0),
    "lime_tabular": functools.partial(lime_tabular, n_samples=20, seed=0),
    "lime_image": _lime_image,
    "global_surrogate": functools.partial(global_surrogate, n_samples=30),
    "completeness": functools.partial(_axiom, axioms.completeness),
    "sensitivity_b": functools.partial(_axiom, axioms.sensitivity_b, dummy=0),
}
PER_EXAMPLE = set(FUNCTIONS) - {"global_surrogate"}  # a global surrogate explains one class for all inputs
USES_BASELINE = set(FUNCTIONS) - {"gradient", "deconvnet", "guided_backprop", "lrp", "smoothgrad", "expected_gradients",
                                  "blur_integrated_gradients"}  # Blur IG's baseline is the most blurred image
HAS_STEPS = {"integrated_gradients": "n_steps", "interior_gradients": "n_steps", "path_integrated_gradients": "n_steps",
             "adaptive_integrated_gradients": "n_steps", "smoothgrad": "n_samples", "expected_gradients": "n_samples",
             "lime_tabular": "n_samples", "lime_image": "n_samples", "guided_integrated_gradients": "n_steps",
             "blur_integrated_gradients": "n_steps", "integrated_hessians": "n_steps"}


@dataclass
class Case:
    """One class of bad input: keyword changes to the call, the model, the error and the argument it names."""

    name: str
    error: type
    names: str  # a regex the message must match (the argument's name, what was passed)
    model: Callable[[], Any] = Net
    inputs: Callable[[], Any] = _inputs
    call: dict = field(default_factory=dict)
    only: set | None = None  # the functions it applies to (None: all)


CASES = [
    Case("float target", TypeError, r"target.*1\.7", call=dict(target=torch.tensor(1.7))),
    Case("bool target tensor", TypeError, r"target.*bool", call=dict(target=torch.tensor(True))),
    Case("bool target", TypeError, r"target.*bool", call=dict(target=True)),
    Case("float target in a list", TypeError, r"target.*0\.5", call=dict(target=[0, 0.5])),
    Case("target list longer than the batch", ValueError, rf"target.*one integer class per example \({N} examples",
         call=dict(target=[0, 1, 2])),
    Case("int list on a multi-dimensional output", ValueError, r"target.*tuple", model=Grid, call=dict(target=[1, 1])),
    Case("int on a multi-dimensional output", ValueError, r"target.*tuple", model=Grid, call=dict(target=1)),
    Case("int target out of range", ValueError, r"target 3 is out of range", call=dict(target=3)),
    Case("target out of range", ValueError, r"target.*out of range", call=dict(target=[0, 3]), only=PER_EXAMPLE),
    Case("tuple out of range", ValueError, r"target.*out of range", model=Grid, call=dict(target=[(0, 0), (3, 0)]),
         only=PER_EXAMPLE),
    Case("inf inputs", ValueError, r"inputs must be finite.*\[1\]",
         inputs=lambda: torch.cat([torch.ones(1, 1, 2, 3), torch.full((1, 1, 2, 3), float("inf"))]), call=dict(target=0)),
    Case("nan inputs", ValueError, r"inputs must be finite", inputs=lambda: torch.full(SHAPE, float("nan")), call=dict(target=0)),
    Case("nan baselines", ValueError, r"baselines must be finite",
         call=dict(baselines=torch.full(SHAPE, float("nan")), target=0), only=USES_BASELINE | {"expected_gradients"}),
    Case("inf baseline number", ValueError, r"baselines must be finite", call=dict(baselines=float("-inf"), target=0),
         only=USES_BASELINE | {"expected_gradients"}),
    Case("baselines of another shape", ValueError, r"baselines has shape \(4,\)", call=dict(baselines=torch.zeros(4), target=0),
         only=USES_BASELINE - {"path_integrated_gradients"}),
    Case("F(x') = -inf", ValueError, r"not finite.*baselines", model=LogSum, call=dict(target=0),
         only=USES_BASELINE - {"gradient_x_input", "deeplift", "lime_image", "lime_tabular", "global_surrogate"}),
    Case("float64 inputs into a float32 model", TypeError, r"inputs are torch\.float64.*parameters are torch\.float32",
         inputs=lambda: torch.rand(SHAPE, dtype=torch.float64), call=dict(target=0)),
    Case("tuple of inputs", TypeError, r"inputs must be a single torch\.Tensor", inputs=lambda: (torch.rand(SHAPE),),
         call=dict(target=0)),
    Case("integer inputs", TypeError, r"inputs must have a floating-point dtype",
         inputs=lambda: torch.ones(SHAPE, dtype=torch.long), call=dict(target=0)),
    Case("not callable model", TypeError, r"model must be an nn\.Module or a callable", model=lambda: "net",
         call=dict(target=0)),
    Case("extra additional_forward_args", TypeError, r"additional_forward_args.*1 additional argument",
         call=dict(target=0, additional_forward_args=torch.ones(N)), only=set(FUNCTIONS) - {"completeness", "sensitivity_b"}),
    Case("additional_forward_args of another batch", ValueError, rf"additional_forward_args has shape \(3,\).*{N} examples",
         model=Scaled, call=dict(target=0, additional_forward_args=torch.ones(3)),
         only=set(FUNCTIONS) - {"completeness", "sensitivity_b"}),
    Case("n_steps that cannot fit", ValueError, r"(n_steps|n_samples)=1000000000.*GiB", call=dict(target=0, steps=10**9),
         # adaptive's n_steps is a budget, spent as needed; Guided IG takes its steps one after another
         only=set(HAS_STEPS) - {"adaptive_integrated_gradients", "guided_integrated_gradients"}),
    Case("n_steps not an int", TypeError, r"(n_steps|n_samples) must be an int", call=dict(target=0, steps=2.5),
         only=set(HAS_STEPS)),
    Case("internal_batch_size 0", ValueError, r"internal_batch_size must be >= 1", call=dict(target=0, internal_batch_size=0),
         only={"integrated_gradients", "adaptive_integrated_gradients", "interior_gradients", "path_integrated_gradients",
               "shapley_values", "exact_integrated_gradients", "smoothgrad", "expected_gradients", "lime_tabular",
               "lime_image", "guided_integrated_gradients", "blur_integrated_gradients", "integrated_hessians"}),
]


def _call(name: str, case: Case) -> Any:
    kw = dict(case.call)
    steps = kw.pop("steps", None)
    if steps is not None:
        kw[HAS_STEPS[name]] = steps
    return FUNCTIONS[name](case.model(), case.inputs(), **kw)


PAIRS = [(f, c) for c in CASES for f in FUNCTIONS if c.only is None or f in c.only]


@pytest.mark.parametrize("function, case", PAIRS, ids=[f"{f}-{c.name}" for f, c in PAIRS])
def test_bad_input_is_a_clear_error(function, case):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(case.error) as info:
            _call(function, case)
    assert re.search(case.names, str(info.value), re.S), f"{function}: {info.value}"


@pytest.mark.parametrize("function", list(FUNCTIONS))
def test_a_dropout_submodule_in_training_mode_warns(function):
    model = Net(dropout=True).eval()
    model.body[3].train()  # eval() on the whole model, then one submodule back in training mode
    with pytest.warns(UserWarning, match=r"submodules in training mode \(Dropout\).*model\.eval\(\)"):
        try:
            FUNCTIONS[function](model, _inputs(), target=0)
        except ValueError:
            pass  # exact IG and the rule methods refuse a dropout in training mode after warning


def test_messages_quote_the_users_batch_not_steps_times_batch():
    x = torch.rand(4, 1, 2, 3)
    with pytest.raises(ValueError) as info:
        iglib.integrated_gradients(Net(), x, target=[0, 1, 2], n_steps=50)
    assert "4 examples" in str(info.value) and "200" not in str(info.value)


def test_axiom_checks_refuse_bad_tolerances_and_methods():
    witness = dict(model=Net(), inputs=_inputs(), baselines=None, target=0)
    with pytest.raises(ValueError, match="tol must be a finite number >= 0, got -0.1"):
        axioms.sensitivity_b(iglib.gradient, dummy=0, tol=-0.1, **witness)
    with pytest.raises(ValueError, match="rtol must be a finite number >= 0"):
        axioms.completeness(iglib.gradient, rtol=-1, **witness)
    with pytest.raises(TypeError, match="attribute must be an attribution method.*'gradient'"):
        axioms.completeness("gradient", **witness)


def test_straight_line_takes_none_and_refuses_nan():
    x = _inputs()
    assert torch.equal(iglib.straight_line(None, x)(torch.tensor([0.0]))[0], torch.zeros_like(x))
    with pytest.raises(ValueError, match="baselines must be finite"):
        iglib.straight_line(torch.full_like(x, float("nan")), x)


def test_degenerate_lime_settings_are_refused():
    with pytest.raises(ValueError, match="n_samples=1 draws only x itself"):
        lime_tabular(Net(), _inputs(), target=0, n_samples=1)
    with pytest.raises(ValueError, match="kernel_width=1e-06 gives weight 0 to every sample but x"):
        lime_tabular(Net(), _inputs(), target=0, kernel_width=1e-6, seed=0)
    with pytest.raises(ValueError, match="kernel_width=1e-06 gives weight 0"):
        lime_image(Net(), _inputs(), _seg(), target=0, kernel_width=1e-6, seed=0)


def test_auto_batch_size_checks_like_the_rest():
    with pytest.raises(TypeError, match="target.*bool"):
        auto_batch_size(Net(), _inputs(), target=True)


# ---------------------------------------------------------------- per-example tuple targets (Captum's convention)
class Flat(nn.Module):
    """The same network as ``Grid`` with its output flattened: class 2 i + j is Grid's (i, j)."""

    def __init__(self, grid: Grid):
        super().__init__()
        self.grid = grid

    def forward(self, x):
        return self.grid(x).reshape(len(x), 6)


TUPLES = [(2, 1), (0, 1)]
AS_INTS = [2 * i + j for i, j in TUPLES]
EXACT_ON_TUPLES = PER_EXAMPLE - {"completeness", "sensitivity_b", "breakpoints", "interior_gradients"}


@pytest.mark.parametrize("function", sorted(EXACT_ON_TUPLES))
def test_a_list_of_tuples_targets_each_example_like_captum(function):
    grid, x = Grid().eval(), _inputs()
    by_tuple = FUNCTIONS[function](grid, x, target=TUPLES)
    by_int = FUNCTIONS[function](Flat(grid).eval(), x, target=AS_INTS)
    if not isinstance(by_tuple, torch.Tensor):  # LIME for images: the fitted weights
        by_tuple, by_int = by_tuple.weights, by_int.weights
    torch.testing.assert_close(by_tuple, by_int)


def test_tuple_targets_match_captum():
    from captum.attr import IntegratedGradients

    grid, x = Grid().eval(), _inputs()
    ours = iglib.integrated_gradients(grid, x, target=TUPLES, n_steps=20)
    theirs = IntegratedGradients(grid).attribute(x, target=TUPLES, n_steps=20)
    torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-6)
    interior = iglib.interior_gradients(grid, x, target=TUPLES, n_steps=20)
    torch.testing.assert_close(interior.integrated_gradients(), ours)


def test_requires_grad_inputs_keep_no_graph():
    """Gradients are accumulated detached: the result holds no autograd graph of the chunks."""
    x = _inputs().requires_grad_(True)
    for function in ("integrated_gradients", "path_integrated_gradients", "smoothgrad", "expected_gradients"):
        a = FUNCTIONS[function](Net(), x, target=0, internal_batch_size=N)
        assert not a.requires_grad and a.grad_fn is None, function


# ---------------------------------------------------------------- the meta device (issue 28, item 7)
class WithBuffer(Net):
    """Net with a buffer subtracted from its inputs: a model whose parameters are real but one buffer is not."""

    def __init__(self, device: str = "cpu"):
        super().__init__()
        self.register_buffer("shift", torch.zeros(6, device=device))

    def forward(self, x):
        return self.body(x.flatten(1) - self.shift)


META_EXPECTED = r"the meta device holds shapes but no values.*Expected"


class TestMetaDevice:
    """Targets, baselines, arguments, inputs, parameters and buffers on ``meta`` (tensors without values):
    one ValueError from :func:`iglib.arguments.check_device` naming the argument and the device expected."""

    @pytest.mark.parametrize("function", sorted(PER_EXAMPLE - {"completeness", "sensitivity_b"}))
    def test_a_per_example_target_on_meta(self, function):
        with pytest.raises(ValueError, match=rf"target is on meta: {META_EXPECTED} target on a real device \(cpu or cuda\)"):
            FUNCTIONS[function](Net(), _inputs(), target=torch.tensor([0, 1], device="meta"))

    @pytest.mark.parametrize("function", sorted(FUNCTIONS))
    def test_a_buffer_on_meta(self, function):
        with pytest.raises(ValueError, match=rf"inputs are on cpu but the model's buffers are on meta \(buffer 'shift'\): "
                                             rf"{META_EXPECTED} the model's buffers on cpu: .*to_empty\(device='cpu'\)"):
            FUNCTIONS[function](WithBuffer("meta"), _inputs(), target=0)

    @pytest.mark.parametrize("function", sorted(FUNCTIONS))
    def test_a_model_on_meta(self, function):
        with pytest.raises(ValueError, match=rf"inputs are on cpu but the model's parameters are on meta "
                                             rf"\(parameter 'body.1.weight'\): {META_EXPECTED} the model's parameters on cpu"):
            FUNCTIONS[function](Net().to("meta"), _inputs(), target=0)

    @pytest.mark.parametrize("function", sorted(FUNCTIONS))
    def test_inputs_on_meta(self, function):
        with pytest.raises(ValueError, match=rf"inputs are on meta: {META_EXPECTED} inputs on a real device"):
            FUNCTIONS[function](Net(), _inputs().to("meta"), target=0)

    @pytest.mark.parametrize("function", sorted(USES_BASELINE - {"path_integrated_gradients"} | {"expected_gradients"}))
    def test_baselines_on_meta(self, function):
        baselines = torch.zeros(SHAPE, device="meta")
        with pytest.raises(ValueError, match=rf"inputs are on cpu but baselines is on meta: {META_EXPECTED} baselines on cpu"):
            FUNCTIONS[function](Net(), _inputs(), baselines=baselines, target=0)

    @pytest.mark.parametrize("function", sorted(set(FUNCTIONS) - {"completeness", "sensitivity_b"}))
    def test_additional_forward_args_on_meta(self, function):
        with pytest.raises(ValueError, match=rf"additional_forward_args is on meta: {META_EXPECTED} additional_forward_args on cpu"):
            FUNCTIONS[function](Scaled(), _inputs(), target=0, additional_forward_args=torch.ones(N, device="meta"))

    def test_a_callable_that_computes_on_meta(self):
        """A plain function hides its module: its output on meta is refused by name."""
        net = Net().to("meta")
        with pytest.raises(ValueError, match=rf"the model's output is on meta: {META_EXPECTED}.*to_empty"):
            iglib.integrated_gradients(lambda x: net(x.to("meta")), _inputs(), target=0, n_steps=2)

    def test_stdev_path_segments_and_ids_on_meta(self):
        x = _inputs()
        with pytest.raises(ValueError, match=rf"stdev is on meta: {META_EXPECTED} stdev on cpu"):
            iglib.smoothgrad(Net(), x, target=0, stdev=torch.ones(SHAPE, device="meta"), seed=0)
        with pytest.raises(ValueError, match=rf"path is on meta: {META_EXPECTED} path on cpu"):
            iglib.path_integrated_gradients(Net(), x, torch.zeros((3,) + SHAPE, device="meta"), target=0)
        with pytest.raises(ValueError, match=rf"segments is on meta: {META_EXPECTED}"):
            lime_image(Net(), x, _seg().to("meta"), target=0, n_samples=4, seed=0)
        embedding = nn.Embedding(4, 6)
        with pytest.raises(ValueError, match=rf"ids is on meta: {META_EXPECTED}"):
            iglib.text.embedding_integrated_gradients(nn.Sequential(embedding), embedding, torch.zeros(1, 2, dtype=torch.long,
                                                                                                      device="meta"))


# ---------------------------------------------------------------- checkpoints carry their own hash (issue 28, item 4)
def _flip_exponent(path, key: str = "convs.0.weight") -> float:
    """Flip the top exponent bit of the first entry of weight ``key`` in the file; return the value it then reads."""
    from iglib.text import checkpoint

    weight = torch.load(path, map_location="cpu", weights_only=True)["state_dict"][key]
    raw = weight.reshape(-1)[:16].numpy().tobytes()
    blob = bytearray(path.read_bytes())
    at = blob.find(raw)
    assert at > 0 and blob.find(raw, at + 1) == -1
    high = at + weight.element_size() - 1  # little-endian: the sign and the top exponent bits
    blob[high] ^= 0x40
    path.write_bytes(bytes(blob))
    assert checkpoint.data.sha256(path)  # still a readable file
    return float(torch.load(path, map_location="cpu", weights_only=True)["state_dict"][key].reshape(-1)[0])


class TestCheckpointHashes:
    """Every checkpoint the project writes carries its ``content_sha256``; loading checks it wherever the
    file lies (:mod:`iglib.text.checkpoint`, shared by the question classifier and the translator)."""

    @pytest.fixture
    def committed(self):
        from iglib.text import checkpoint

        return checkpoint.FOLDER / "questions_fast.pt"

    def test_a_copy_with_one_flipped_exponent_bit_is_refused_and_the_advice_names_real_paths(self, tmp_path, committed):
        from pathlib import Path

        from iglib.text import classifier

        copy = tmp_path / "questions_3.pt"
        shutil.copy(committed, copy)
        assert classifier.load(copy, device="cpu")  # an intact copy of a committed file: it matches SHA256SUMS
        assert abs(_flip_exponent(copy)) > 1e30  # what loading it used to give
        with pytest.raises(ValueError, match=r"questions_3.pt carries no content_sha256.*match no checkpoint recorded in "
                                             r".*SHA256SUMS: it is damaged") as error:
            classifier.load(copy, device="cpu")
        message = str(error.value)
        assert "questions_3.pt`" not in message and classifier.REBUILD in message
        root = Path(__file__).resolve().parent.parent
        for named in re.findall(r"iglib/text/checkpoints/\w+\.pt", message):
            assert (root / named).is_file(), named

    @pytest.mark.parametrize("kind", ["classifier", "translation"])
    def test_save_writes_the_content_hash_and_a_flipped_bit_anywhere_is_refused(self, tmp_path, kind):
        from iglib.text import checkpoint, classifier, translation

        module = {"classifier": classifier, "translation": translation}[kind]
        original = checkpoint.FOLDER / ("questions_fast.pt" if kind == "classifier" else "translation_fast.pt")
        path = module.save(module.load(original, device="cpu"), tmp_path / "mine.pt")  # a user's own file
        saved = torch.load(path, map_location="cpu", weights_only=True)
        assert saved["content_sha256"] == checkpoint.content_sha256(saved)
        assert module.load(path, device="cpu").model is not None
        key = next(k for k, v in saved["state_dict"].items() if v.is_floating_point() and v.numel() >= 16
                   and 0 < v.reshape(-1)[0].abs() < 1 and v.reshape(-1)[:16].count_nonzero() == 16)
        _flip_exponent(path, key)
        with pytest.raises(ValueError, match=rf"mine.pt is damaged: its content hashes to [0-9a-f]{{64}}, but it records "
                                             rf"content_sha256 = '[0-9a-f]{{64}}'.*{re.escape(module.REBUILD)}"):
            module.load(path, device="cpu")

    def test_an_edited_entry_is_refused(self, tmp_path, committed):
        from iglib.text import checkpoint, classifier

        saved = torch.load(committed, map_location="cpu", weights_only=True)
        checkpoint.save_checkpoint(saved, tmp_path / "mine.pt")
        edited = torch.load(tmp_path / "mine.pt", map_location="cpu", weights_only=True)
        edited["accuracy"] = 0.99  # a claim changed, the hash kept
        torch.save(edited, tmp_path / "mine.pt")
        with pytest.raises(ValueError, match="mine.pt is damaged: its content hashes to"):
            classifier.load(tmp_path / "mine.pt", device="cpu")

    def test_a_file_written_by_torch_save_is_refused_with_how_to_seal_it(self, tmp_path, committed):
        from iglib.text import classifier

        saved = torch.load(committed, map_location="cpu", weights_only=True)
        saved["accuracy"] = 0.5
        torch.save(saved, tmp_path / "mine.pt")
        with pytest.raises(ValueError, match=r"mine.pt carries no content_sha256 \(it was written by torch.save.*"
                                             r"seal it: iglib.text.checkpoint.save_checkpoint\("):
            classifier.load(tmp_path / "mine.pt", device="cpu")

    @pytest.mark.parametrize("text, problem", [(None, "is missing"), ("garbage\n", r"is garbled: line 1 reads 'garbage'"),
                                               ("740a00ce  questions_fast.pt\n", "is garbled: line 1"),
                                               (b"\xff\xfe\x00", "is garbled: it is not text")])
    def test_a_missing_or_garbled_sha256sums_names_the_file_and_the_fix(self, tmp_path, monkeypatch, text, problem):
        from iglib.text import checkpoint, classifier

        folder = tmp_path / "checkpoints"
        shutil.copytree(checkpoint.FOLDER, folder)
        monkeypatch.setattr(checkpoint, "FOLDER", folder)
        sums = folder / "SHA256SUMS"
        if text is None:
            sums.unlink()
        elif isinstance(text, bytes):
            sums.write_bytes(text)
        else:
            sums.write_text(text)
        with pytest.raises(ValueError, match=rf"SHA256SUMS {problem}.*git checkout -- iglib/text/checkpoints/SHA256SUMS"):
            classifier.load(folder / "questions_fast.pt", device="cpu")

    @pytest.mark.parametrize("cut", [0.5, 0.999])
    def test_a_truncated_manifest_names_the_file_and_the_fix(self, tmp_path, monkeypatch, cut):
        from iglib import data

        text = data.MANIFEST.read_text()
        manifest = tmp_path / "manifest.json"
        manifest.write_text(text[: int(len(text) * cut)])
        monkeypatch.setattr(data, "MANIFEST", manifest)
        data.sources.cache_clear()
        try:
            with pytest.raises(ValueError, match=r"manifest.json is damaged \(truncated or garbled\): it is not valid "
                                                 r"JSON.*git checkout -- data/manifest.json"):
                data.sources()
        finally:
            data.sources.cache_clear()

    def test_a_manifest_of_the_wrong_shape_names_the_file(self, tmp_path, monkeypatch):
        from iglib import data

        manifest = tmp_path / "manifest.json"
        manifest.write_text('["not", "an", "object"]')
        monkeypatch.setattr(data, "MANIFEST", manifest)
        data.sources.cache_clear()
        try:
            with pytest.raises(ValueError, match=r"manifest.json is damaged: expected a JSON object"):
                data.sources()
        finally:
            data.sources.cache_clear()
