"""The run's record: each snapshot is scored on BLEU/chrF, loops and the AER of IG, attention and the
diagonal, and the command line measures the snapshots it is asked for."""
import json
from dataclasses import replace

import pytest
from test_text_translation import TINY, _toy_split

from iglib.experiments.text import history, translation as tr

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py

PAIR = {"source": ["one", "red", "two"], "target": ["eins", "rot", "zwei"], "sure": [[0, 0], [1, 1], [2, 2]],
        "source_text": "one red two", "target_text": "eins rot zwei"}


@pytest.fixture
def toy_references(tmp_path, monkeypatch):
    for file in history.ALIGNED_SETS.values():
        (tmp_path / file).write_text(json.dumps([PAIR]))
    monkeypatch.setattr(history, "REFERENCES", tmp_path)
    return tmp_path


def test_unpunctuated_heldout_strips_the_first_sentences():
    split_ = tr.Split([], ["Where is it?", "I see, yes.", "Go!"], [["a"], ["b"], ["c"]])
    assert history.unpunctuated_heldout(split_, 2) == ["Where is it", "I see yes"]


def test_measure_scores_a_model_that_learned_the_toy_task(toy_references):
    trained = tr.train(TINY, _toy_split(), device="cpu")
    record = history.measure(trained, _toy_split(), n_steps=20)
    assert record["bleu"] == pytest.approx(100.0) and record["loops"] == 0 and record["loop_sentences"] == 2
    assert record["aer_short_ig"] == 0.0 and record["aer_long_diagonal"] == 0.0  # word for word: the diagonal is right
    assert set(record) >= {f"aer_{s}_{r}" for s in history.ALIGNED_SETS for r in ("ig", "ig_unk", "attention", "diagonal")}


def test_the_command_line_measures_the_first_every_nth_and_last_snapshot(toy_references, tmp_path, monkeypatch):
    config = replace(TINY, max_steps=8, ema=0.5)
    run = tr.train(config, _toy_split(), device="cpu", snapshots=tmp_path / "snapshots", snapshot_every=2)
    tr.save(run, tmp_path / "final.pt")
    monkeypatch.setattr(tr, "split", lambda config: _toy_split())
    measured = []
    monkeypatch.setattr(history, "measure", lambda trained, split_: measured.append(trained) or {"chrf": 1.0})
    out = tmp_path / "history.json"
    history.main(["--checkpoint", str(tmp_path / "final.pt"), "--snapshots", str(tmp_path / "snapshots"),
                  "--out", str(out), "--every", "3"])
    record = json.loads(out.read_text())
    assert [r["update"] for r in record["snapshots"]] == [2, 6, 8]  # the first, every third, the last
    assert record["updates"] == 8 and record["updates_per_epoch"] >= 1 and len(measured) == 3
