"""Fetching data by name: the read-only mirror, the cache, the sha256 check, clear errors offline."""
import hashlib
import shutil
import urllib.request
from pathlib import Path

import pytest

from iglib import data

MIRROR = Path(__file__).resolve().parents[2] / "shared" / "data"
NAME = "imagenet-labels/imagenet_classes.txt"


def test_registry_lists_every_file_with_its_address_and_sha256():
    entries = data.sources()
    assert len([n for n in entries if n.startswith("ig-images/")]) == 62
    for name, entry in entries.items():
        assert len(entry["sha256"]) == 64
        assert ("url" in entry) != ("wheel" in entry), name
        if "url" in entry:
            assert entry["url"].startswith("https://raw.githubusercontent.com/")


@pytest.mark.skipif(not MIRROR.is_dir(), reason="the data mirror is not beside the project")
def test_fetch_from_the_mirror_checks_sha256(monkeypatch, tmp_path):
    monkeypatch.setenv("IGLIB_DATA_DIR", str(MIRROR))
    monkeypatch.setenv("IGLIB_CACHE_DIR", str(tmp_path / "cache"))
    path = data.fetch(NAME)
    assert path == MIRROR / NAME
    assert hashlib.sha256(path.read_bytes()).hexdigest() == data.sources()[NAME]["sha256"]


def test_corrupt_mirror_file_is_an_error(monkeypatch, tmp_path):
    (tmp_path / "imagenet-labels").mkdir()
    (tmp_path / NAME).write_text("not the labels")
    monkeypatch.setenv("IGLIB_DATA_DIR", str(tmp_path))
    with pytest.raises(RuntimeError, match="wrong sha256.*unset IGLIB_DATA_DIR"):
        data.fetch(NAME)


def _offline(*args, **kwargs):
    raise OSError("network is unreachable")


def test_missing_file_offline_says_what_to_do(monkeypatch, tmp_path):
    monkeypatch.delenv("IGLIB_DATA_DIR", raising=False)
    monkeypatch.setenv("IGLIB_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(urllib.request, "urlopen", _offline)
    with pytest.raises(RuntimeError, match="could not download .*set IGLIB_DATA_DIR"):
        data.fetch(NAME)
    assert not (tmp_path / NAME).exists()


@pytest.mark.skipif(not MIRROR.is_dir(), reason="the data mirror is not beside the project")
def test_cache_is_used_and_a_corrupt_cache_file_is_fetched_again(monkeypatch, tmp_path):
    monkeypatch.delenv("IGLIB_DATA_DIR", raising=False)
    monkeypatch.setenv("IGLIB_CACHE_DIR", str(tmp_path))
    cached = tmp_path / NAME
    cached.parent.mkdir(parents=True)
    shutil.copy(MIRROR / NAME, cached)
    monkeypatch.setattr(urllib.request, "urlopen", _offline)
    assert data.fetch(NAME) == cached  # a good cached copy: no download
    cached.write_text("truncated")

    class Response:  # the "download" serves the original bytes
        def __init__(self, *a, **k):
            self.body = open(MIRROR / NAME, "rb")

        def __enter__(self):
            return self.body

        def __exit__(self, *exc):
            self.body.close()

    monkeypatch.setattr(urllib.request, "urlopen", Response)
    assert data.fetch(NAME) == cached
    assert hashlib.sha256(cached.read_bytes()).hexdigest() == data.sources()[NAME]["sha256"]


def test_download_with_wrong_sha256_is_not_kept(monkeypatch, tmp_path):
    monkeypatch.delenv("IGLIB_DATA_DIR", raising=False)
    monkeypatch.setenv("IGLIB_CACHE_DIR", str(tmp_path))

    class Response:
        def __enter__(self):
            import io

            return io.BytesIO(b"something else")

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: Response())
    with pytest.raises(RuntimeError, match="expected .*not kept"):
        data.fetch(NAME)
    assert not (tmp_path / NAME).exists()


def test_unknown_name():
    with pytest.raises(ValueError, match="unknown data file 'ig-images/nope.jpg'"):
        data.fetch("ig-images/nope.jpg")


@pytest.mark.skipif(not MIRROR.is_dir(), reason="the data mirror is not beside the project")
def test_prefetch_command_fetches_by_prefix_and_names_a_bad_one(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("IGLIB_DATA_DIR", str(MIRROR))
    monkeypatch.setenv("IGLIB_CACHE_DIR", str(tmp_path))
    assert data.main(["imagenet-labels/"]) == 0
    out = capsys.readouterr().out
    labels = [n for n in data.sources() if n.startswith("imagenet-labels/")]
    assert f"all {len(labels)} files present and sha256-checked" in out and NAME in out
    with pytest.raises(SystemExit):
        data.main(["no-such-folder/"])
    assert "no data file starts with ['no-such-folder/']" in capsys.readouterr().err
