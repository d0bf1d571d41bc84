"""iglib.apps.at_scale: every item exactly once over the ranks, results equal to direct calls, resume after an
interruption, torchrun with 2 processes equal to 1 process item by item, clear errors."""
from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import iglib
from iglib.apps import at_scale
from iglib.experiments import imagenet

ROOT = Path(__file__).resolve().parents[1]
STEPS = 4  # few steps: these tests check the bookkeeping, not IG's accuracy


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> Path:
    """A folder of 4 of the paper's images, one of them in a subfolder (ImageFolder layout)."""
    folder = tmp_path_factory.mktemp("images")
    names = imagenet.paper_images()[:4]
    for k, name in enumerate(names):
        dest = folder / ("sub" if k == 3 else "") / Path(name).name
        dest.parent.mkdir(exist_ok=True)
        shutil.copy(iglib.data.fetch(name), dest)
    (folder / "notes.txt").write_text("not an image")
    return folder


def _config(argv: list[str]) -> tuple[dict, object]:
    return at_scale.parse_args(argv)


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["IGLIB_PROGRESS"] = "0"
    return env


# --------------------------------------------------------------------------------- sharding
def test_chunks_and_ranks_cover_every_item_exactly_once():
    for n, size, world in itertools.product([0, 1, 5, 7, 16], [1, 3, 4], [1, 2, 3, 8]):
        names = [f"item{i}" for i in range(n)]
        work = at_scale.chunks(names, size)
        per_rank = [[name for k in at_scale.assigned(len(work), r, world) for name in work[k]] for r in range(world)]
        flat = [name for names_r in per_rank for name in names_r]
        assert sorted(flat) == sorted(names) and len(flat) == n  # no padding, no duplicate, none missing
        assert max(len(c) for c in work) <= size if work else n == 0
        sizes = [len(at_scale.assigned(len(work), r, world)) for r in range(world)]
        assert max(sizes) - min(sizes) <= 1  # chunks spread evenly


def test_chunks_never_mix_groups():
    names = [f"q{i}" for i in range(20)]
    length = {name: i % 3 + 1 for i, name in enumerate(names)}
    work = at_scale.chunks(names, 4, group=length.get)
    assert sorted(n for c in work for n in c) == sorted(names)
    assert all(len({length[n] for n in c}) == 1 and len(c) <= 4 for c in work)
    assert [length[c[0]] for c in work] == sorted(length[c[0]] for c in work)


def test_list_images_finds_images_at_any_depth(images):
    names = at_scale.list_images(images)
    assert len(names) == 4 and names == sorted(names) and any(n.startswith("sub/") for n in names)
    assert "notes.txt" not in names


# ------------------------------------------------------------------------------ one process
def test_images_equal_direct_integrated_gradients(images, tmp_path, capsys):
    at_scale.main(["--images", str(images), "--out", str(tmp_path), "--steps", str(STEPS), "--chunk", "3"])
    printed = capsys.readouterr().out
    assert "4 items computed on 1 process (per rank: 4)" in printed and "items/s" in printed and "within 5%" in printed
    result = at_scale.load(tmp_path)
    assert result.names == at_scale.list_images(images)
    assert sorted(p.name for p in tmp_path.glob("shard-*.pt")) == ["shard-000000.pt", "shard-000001.pt"]
    model = imagenet.load_classifier()
    for name in result.names[:2]:
        x = imagenet.preprocess(images / name)
        target = int(model(x).argmax())
        a, delta = iglib.integrated_gradients(model, x, imagenet.black(x), target=target, n_steps=STEPS,
                                              return_convergence_delta=True)
        assert result.targets[name] == target
        assert torch.equal(result.attributions[name], a[0])
        # the completeness error, computed here from F(x) - F(x'), against IG's own delta
        assert result.completeness[name] == pytest.approx(delta.item(), rel=1e-4, abs=1e-4 * abs(result.change[name]))
    rel = result.relative_errors()
    assert rel.shape == (4,) and np.all(rel >= 0)


def test_other_methods_and_a_fixed_class(images, tmp_path):
    out = tmp_path / "gxi"
    at_scale.main(["--images", str(images), "--out", str(out), "--attribution-method", "gradient_x_input", "--target", "554",
                   "--baseline", "zero", "--limit", "1"])
    result = at_scale.load(out)
    name = result.names[0]
    x = imagenet.preprocess(images / name)
    expected = iglib.gradient_x_input(imagenet.load_classifier(), x, torch.zeros_like(x), target=554)
    assert result.targets[name] == 554 and torch.equal(result.attributions[name], expected[0])
    assert result.config["steps"] is None and result.config["method"] is None


def test_probability_output_and_chosen_items_as_notebook_08_calls_it(images, tmp_path):
    """run(image_config(..., output="probability"), items=...) as notebook 08 calls it: IG of the softmax
    probability, the chosen images in the chosen order, the same config as the command line's."""
    names = at_scale.list_images(images)
    chosen = [names[2], names[0]]
    config = at_scale.image_config(images, steps=STEPS, output="probability")
    assert config == at_scale.parse_args(["--images", str(images), "--out", "x", "--steps", str(STEPS),
                                          "--output", "probability"])[0]
    index = at_scale.run(config, tmp_path, chunk=1, device="cpu", items=chosen, quiet=True)
    result = at_scale.load(tmp_path)
    assert result.names == index["items"] == chosen
    model = imagenet.load_classifier()
    probabilities = lambda v: model(v).softmax(dim=-1)
    for name in chosen:
        x = imagenet.preprocess(images / name)
        target = int(model(x).argmax())
        a, delta = iglib.integrated_gradients(probabilities, x, imagenet.black(x), target=target, n_steps=STEPS,
                                              return_convergence_delta=True)
        assert result.targets[name] == target and torch.equal(result.attributions[name], a[0])
        with torch.no_grad():
            change = probabilities(x)[0, target] - probabilities(imagenet.black(x))[0, target]
        assert 0 < result.change[name] <= 1 and result.change[name] == pytest.approx(change.item(), abs=1e-6)
        assert result.completeness[name] == pytest.approx(delta.item(), abs=1e-5)


def test_image_config_and_items_errors(images, tmp_path):
    for kwargs, error, message in [
        ({"output": "logits"}, ValueError, "output must be one of logit, probability, got 'logits'"),
        ({"baseline": "white"}, ValueError, "baseline must be one of"),
        ({"target": 3}, ValueError, "target must be 'top1' or a class index"),
        ({"steps": 0}, ValueError, "steps must be >= 1, got 0"),
        ({"steps": 2.5}, TypeError, "steps must be an int"),
    ]:
        with pytest.raises(error, match=message):
            at_scale.image_config(images, **kwargs)
    with pytest.raises(ValueError, match="holds no image"):
        at_scale.image_config(tmp_path)
    config = at_scale.image_config(images, steps=STEPS)
    with pytest.raises(ValueError, match="items must be items of the source, got 1 that are not, e.g. 'cat.jpg'"):
        at_scale.run(config, tmp_path / "out", chunk=1, device="cpu", items=["cat.jpg"])
    name = at_scale.list_images(images)[0]
    with pytest.raises(ValueError, match="must not repeat a name, got 2 names of which 1 differ"):
        at_scale.run(config, tmp_path / "out", chunk=1, device="cpu", items=[name, name])
    with pytest.raises(TypeError, match="items must be a list of item names"):
        at_scale.run(config, tmp_path / "out", chunk=1, device="cpu", items=name)


def test_interrupted_run_resumes_and_gives_the_same_result(images, tmp_path, monkeypatch, capsys):
    argv = ["--images", str(images), "--steps", str(STEPS), "--chunk", "1", "--limit", "3"]
    at_scale.main(argv + ["--out", str(tmp_path / "whole")])
    whole = at_scale.load(tmp_path / "whole")

    out = tmp_path / "interrupted"
    computed = []
    original = at_scale.Images.compute

    def compute_then_fail(self, names):
        if len(computed) == 2:
            raise KeyboardInterrupt  # as if Ctrl-C hit during the third image
        computed.extend(names)
        return original(self, names)

    monkeypatch.setattr(at_scale.Images, "compute", compute_then_fail)
    with pytest.raises(KeyboardInterrupt):
        at_scale.main(argv + ["--out", str(out)])
    (out / ".shard-000002.pt.999.tmp").write_bytes(b"half a file")  # a write cut short
    with pytest.raises(ValueError, match="has not finished"):
        at_scale.load(out)
    assert at_scale.load(out, partial=True).names == computed

    monkeypatch.setattr(at_scale.Images, "compute", original)
    capsys.readouterr()
    at_scale.main(argv + ["--out", str(out)])
    printed = capsys.readouterr().out
    assert "1 item computed" in printed and "2 were done before" in printed
    index = torch.load(out / "index.pt", weights_only=True)
    assert [sum(r["items"] for r in run["ranks"]) for run in index["runs"]] == [1]
    assert index["runs"][-1]["items_done_before"] == 2
    resumed = at_scale.load(out)
    assert resumed.names == whole.names
    for name in whole.names:
        assert torch.equal(resumed.attributions[name], whole.attributions[name])
        assert resumed.completeness[name] == whole.completeness[name]

    at_scale.main(argv + ["--out", str(out)])  # nothing left: nothing computed, same result
    assert "0 items computed" in capsys.readouterr().out
    assert at_scale.load(out).completeness == whole.completeness


def test_an_output_folder_of_another_configuration_is_refused(images, tmp_path):
    argv = ["--images", str(images), "--out", str(tmp_path), "--chunk", "1", "--limit", "1"]
    at_scale.main(argv + ["--steps", "2"])
    with pytest.raises(ValueError, match=r"--out .*another configuration.*steps 2 there, 3 now"):
        at_scale.main(argv + ["--steps", "3"])


# ----------------------------------------------------------------------------- two processes
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_torchrun_two_processes_equal_one_process(images, tmp_path):
    """torchrun --nproc_per_node=2 on 127.0.0.1 (gloo): each rank its own shards, rank 0 the index; the
    merged result equals a one-process run item by item, bit for bit (both at 1 thread per process)."""
    args = ["-m", "iglib.apps.at_scale", "--images", str(images), "--steps", str(STEPS), "--chunk", "1", "--threads", "1"]
    one = subprocess.run([sys.executable, *args, "--out", str(tmp_path / "one")], env=_env(), cwd=ROOT,
                         capture_output=True, text=True, timeout=600)
    assert one.returncode == 0, one.stderr[-3000:]
    two = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--nnodes=1",
                          "--master_addr=127.0.0.1", f"--master_port={_free_port()}", *args,
                          "--out", str(tmp_path / "two")], env=_env(), cwd=ROOT, capture_output=True, text=True,
                         timeout=600)
    assert two.returncode == 0, two.stderr[-3000:]
    assert "4 items computed on 2 processes (per rank: 2, 2)" in two.stdout
    shards = [torch.load(p, weights_only=True) for p in sorted((tmp_path / "two").glob("shard-*.pt"))]
    assert sorted(s["rank"] for s in shards) == [0, 0, 1, 1] and {s["world_size"] for s in shards} == {2}
    a, b = at_scale.load(tmp_path / "one"), at_scale.load(tmp_path / "two")
    assert a.names == b.names and len(a.names) == 4
    for name in a.names:
        assert torch.equal(a.attributions[name], b.attributions[name]), name
        assert (a.targets[name], a.change[name], a.completeness[name]) == (b.targets[name], b.change[name],
                                                                           b.completeness[name])


# ------------------------------------------------------------------------------------ text
def test_questions_equal_token_scores_and_feed_trigger_mining(tmp_path):
    from iglib.experiments.text import classifier as clf, questions as qs, triggers as tg
    from iglib.experiments.text.tokens import tokenize

    at_scale.main(["--questions", "heldout", "--out", str(tmp_path), "--steps", str(STEPS), "--limit", "60",
                   "--chunk", "8"])
    run = at_scale.load(tmp_path)
    tokens, scores, targets, deltas = run.token_scores()

    trained = clf.load(at_scale.default_checkpoint(), "cpu")
    heldout = qs.load("unseen")
    assert run.names == heldout.ids[:60]
    vocab = trained.vocab
    expected_tokens = [[vocab.itos[i] for i in vocab.encode(tokenize(t)[: trained.config.max_length])]
                       for t in heldout.texts[:60]]
    assert tokens == expected_tokens
    s, t, d = tg.token_scores(trained.model, trained.model.embedding, [vocab.encode(w) for w in tokens], n_steps=STEPS,
                              batch_size=8)  # the same batches as --chunk 8 (delta moves by rounding with the batch)
    assert all(np.array_equal(x, y) for x, y in zip(scores, s))  # what notebook 09 computes, to the bit
    assert np.array_equal(targets, t) and np.array_equal(deltas, d)

    # a lost shard is recomputed in the same batch as before: the same numbers to the bit
    shards = sorted(tmp_path.glob("shard-*.pt"))
    shards[len(shards) // 2].unlink()
    (tmp_path / "index.pt").unlink()
    at_scale.main(["--questions", "heldout", "--out", str(tmp_path), "--steps", str(STEPS), "--limit", "60",
                   "--chunk", "8"])
    again = at_scale.load(tmp_path)
    assert again.completeness == run.completeness and again.targets == run.targets
    assert all(torch.equal(again.attributions[n], run.attributions[n]) for n in run.names)

    labels = [qs.LABELS[k] for k in targets]
    mined = tg.mine_triggers(tokens, scores, labels, min_count=2)
    assert set(mined) == set(labels)
    assert at_scale.parse_args(["--questions", "heldout", "--out", "x", "--target", "top1"])[0]["target"] == "predicted"
    assert at_scale.parse_args(["--questions", "heldout", "--out", "x", "--target", "YESNO"])[0]["target"] == "2"
    with pytest.raises(ValueError, match="needs a questions run"):
        at_scale.Attributions({"kind": "images"}, [], {}, {}, {}, {}, {}).token_scores()


# ------------------------------------------------------------------------------------ errors
@pytest.mark.parametrize("argv, flag", [
    (["--out", "x"], "--images --questions"),
    (["--images", "a", "--questions", "heldout", "--out", "x"], "--questions"),
    (["--images", "/no/such/folder", "--out", "x"], "--images"),
    (["--questions", "heldout"], "--out"),
    (["--questions", "validation", "--out", "x"], "--questions"),
    (["--questions", "heldout", "--out", "x", "--steps", "0"], "--steps"),
    (["--questions", "heldout", "--out", "x", "--steps", "many"], "--steps"),
    (["--questions", "heldout", "--out", "x", "--attribution-method", "gradient"], "--attribution-method"),
    (["--questions", "heldout", "--out", "x", "--attribution-method", "magic"], "--attribution-method"),
    (["--questions", "heldout", "--out", "x", "--target", "PERSON"], "--target"),
    (["--questions", "heldout", "--out", "x", "--baseline", "black"], "--baseline"),
    (["--questions", "heldout", "--out", "x", "--checkpoint", "/no/such.pt"], "--checkpoint"),
    (["--questions", "heldout", "--out", "x", "--method", "simpson"], "--method"),
    (["--questions", "heldout", "--out", "x", "--rule", "gausslegendre"], "--rule"),
    (["--questions", "heldout", "--out", "x", "--chunk", "-1"], "--chunk"),
    (["--questions", "heldout", "--out", "x", "--internal-batch-size", "lots"], "--internal-batch-size"),
    (["--questions", "heldout", "--out", "x", "--device", "tpu"], "--device"),
    (["--questions", "heldout", "--out", "x", "--output", "probability"], "--output is for --images"),
])
def test_bad_arguments_name_the_flag(argv, flag, capsys):
    with pytest.raises(SystemExit) as exit_info:
        at_scale.parse_args(argv)
    assert exit_info.value.code == 2
    assert flag in capsys.readouterr().err


def test_bad_image_arguments_name_the_flag(images, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    for argv, message in [
        (["--images", str(empty)], "holds no image"),
        (["--images", str(images), "--target", "1000"], "--target must be top1 or a class index 0..999"),
        (["--images", str(images), "--target", "dog"], "got 'dog'"),
        (["--images", str(images), "--checkpoint", "c.pt"], "--checkpoint is for --questions"),
        (["--images", str(images), "--baseline", "zero-embedding"], "--baseline zero-embedding is for --questions"),
        (["--images", str(images), "--output", "odds"], "--output"),
    ]:
        with pytest.raises(SystemExit):
            at_scale.parse_args(argv + ["--out", str(tmp_path / "out")])
        assert message in capsys.readouterr().err


def test_load_errors(tmp_path):
    with pytest.raises(ValueError, match="not-there"):
        at_scale.load(tmp_path / "not-there")
    with pytest.raises(ValueError, match="has not finished"):
        at_scale.load(tmp_path)
    with pytest.raises(ValueError, match="holds no shard"):
        at_scale.load(tmp_path, partial=True)
