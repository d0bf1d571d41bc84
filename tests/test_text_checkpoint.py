"""Committed checkpoints are loaded only when intact: the recorded sha256, finite weights."""
import shutil

import pytest
import torch

from iglib.experiments.text import checkpoint, classifier, translation

LOADERS = {"questions_fast.pt": (classifier.load, classifier.REBUILD),
           "translation_fast.pt": (translation.load, translation.REBUILD),
           "translation_punctuated.pt": (translation.load, translation.REBUILDS["translation_punctuated.pt"])}


def test_every_committed_checkpoint_has_its_sha256_recorded_and_matches_it():
    files = {p.name for p in checkpoint.FOLDER.glob("*.pt")}
    assert files == set(LOADERS)
    recorded = checkpoint.recorded_sha256()
    assert set(recorded) == files
    for name in files:
        assert checkpoint.data.sha256(checkpoint.FOLDER / name) == recorded[name], f"{name}: rebuild it or record it"


@pytest.fixture
def copied(tmp_path, monkeypatch):
    """A copy of the committed folder (checkpoints and SHA256SUMS), standing in for it."""
    folder = tmp_path / "checkpoints"
    shutil.copytree(checkpoint.FOLDER, folder)
    monkeypatch.setattr(checkpoint, "FOLDER", folder)
    return folder


@pytest.mark.parametrize("name", sorted(LOADERS))
def test_one_flipped_byte_is_refused_naming_the_file_and_the_rebuild_command(copied, name):
    load, rebuild = LOADERS[name]
    path = copied / name
    blob = bytearray(path.read_bytes())
    blob[len(blob) // 2] ^= 0x40  # one bit, in the middle of the weights
    path.write_bytes(bytes(blob))
    with pytest.raises(ValueError, match=f"{name} is damaged: its sha256 is .* but SHA256SUMS records") as error:
        load(path, device="cpu")
    assert rebuild in str(error.value) and f"git checkout -- iglib/experiments/text/checkpoints/{name}" in str(error.value)


def test_an_intact_copy_loads(copied):
    trained = classifier.load(copied / "questions_fast.pt", device="cpu")
    assert not trained.model.training


def test_a_checkpoint_without_a_record_is_refused(copied):
    (copied / "SHA256SUMS").write_text("")
    with pytest.raises(ValueError, match="has no sha256 recorded"):
        classifier.load(copied / "questions_fast.pt", device="cpu")


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_weights_are_refused_anywhere(tmp_path, value):
    saved = torch.load(checkpoint.FOLDER / "questions_fast.pt", map_location="cpu", weights_only=True)
    key = next(iter(saved["state_dict"]))
    saved["state_dict"][key] = saved["state_dict"][key].clone()
    saved["state_dict"][key].view(-1)[0] = value
    path = tmp_path / "mine.pt"
    torch.save(saved, path)
    with pytest.raises(ValueError, match=f"mine.pt is damaged: non-finite weights in {key}.*{classifier.REBUILD}"):
        classifier.load(path, device="cpu")


def test_a_truncated_file_is_refused_in_our_words(tmp_path):
    path = tmp_path / "cut.pt"
    path.write_bytes((checkpoint.FOLDER / "questions_fast.pt").read_bytes()[:1000])
    with pytest.raises(ValueError, match="cut.pt is damaged: torch.load cannot read it"):
        classifier.load(path, device="cpu")


def test_rebuilding_into_the_committed_folder_records_the_new_sha256(copied):
    path = copied / "questions_fast.pt"
    saved = torch.load(path, map_location="cpu", weights_only=True)
    saved["accuracy"] = 0.5
    torch.save(saved, path)
    checkpoint.record_sha256(path)
    assert checkpoint.recorded_sha256()["questions_fast.pt"] == checkpoint.data.sha256(path)
    assert set(checkpoint.recorded_sha256()) == set(LOADERS)
