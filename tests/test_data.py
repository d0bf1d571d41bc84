"""The data the collection carries: the manifest, the look-up order, sha256 checks, and its faults."""
import errno
import hashlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import textwrap
import urllib.request
from pathlib import Path

import pytest

from iglib import data

NAME = "imagenet-labels/imagenet_classes.txt"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def no_network(monkeypatch):
    """Every socket connection (and urlopen) fails, as on a machine without network."""
    def refuse(*args, **kwargs):
        raise OSError(errno.ENETUNREACH, "network is unreachable (sockets disabled by the test)")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(urllib.request, "urlopen", refuse)


@pytest.fixture
def fresh(monkeypatch, tmp_path):
    """IGLIB_DATA_DIR unset, an empty user cache, nothing verified yet in this process."""
    monkeypatch.delenv("IGLIB_DATA_DIR", raising=False)
    monkeypatch.setenv("IGLIB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(data, "_verified", {})
    return tmp_path


@pytest.fixture
def elsewhere(fresh, monkeypatch):
    """As `fresh`, with the project's data folder moved to an empty one (to reach the cache and download)."""
    monkeypatch.setattr(data, "PROJECT_DATA", fresh / "project-data")
    return fresh


def test_manifest_lists_every_file_with_source_sha256_size_and_licence():
    entries = data.sources()
    assert data.MANIFEST == ROOT / "data" / "manifest.json"
    assert len([n for n in entries if n.startswith("ig-images/")]) == 62
    for name, entry in entries.items():
        assert len(entry["sha256"]) == 64, name
        assert ("url" in entry) != ("wheel" in entry), name
        if "url" in entry:
            assert entry["url"].startswith("https://raw.githubusercontent.com/"), name
        assert entry["licence"] and entry["attribution"], name
        path = ROOT / "data" / name
        assert path.is_file() and path.stat().st_size == entry["size"], f"{name} is not committed in data/"
        assert entry["size"] < 20e6, name


def test_the_data_folder_holds_nothing_but_the_manifest_and_its_files():
    on_disk = {p.relative_to(ROOT / "data").as_posix() for p in (ROOT / "data").rglob("*") if p.is_file()}
    assert on_disk == set(data.sources()) | {"manifest.json"}


def test_every_manifest_entry_is_fetched_offline_from_the_project(fresh, no_network):
    for name, entry in data.sources().items():
        path = data.fetch(name)
        assert path == data.PROJECT_DATA / name
        assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"]
    assert not (fresh / "cache").exists()  # nothing copied, nothing downloaded


def test_each_file_is_hashed_once_per_process(fresh, monkeypatch):
    calls = []
    real = data.sha256
    monkeypatch.setattr(data, "sha256", lambda p: calls.append(p) or real(p))
    for _ in range(3):
        data.fetch(NAME)
    assert calls == [data.PROJECT_DATA / NAME]


def test_a_damaged_project_file_is_refused_with_the_command_that_restores_it(fresh, monkeypatch):
    project = fresh / "project-data"
    (project / "imagenet-labels").mkdir(parents=True)
    (project / NAME).write_bytes((data.PROJECT_DATA / NAME).read_bytes()[:-1] + b"X")
    monkeypatch.setattr(data, "PROJECT_DATA", project)
    with pytest.raises(RuntimeError, match=f"is damaged.*git checkout -- data/{NAME}"):
        data.fetch(NAME)


def test_the_mirror_comes_first_and_is_checked(fresh, monkeypatch):
    mirror = fresh / "mirror"
    (mirror / "imagenet-labels").mkdir(parents=True)
    (mirror / NAME).write_bytes((data.PROJECT_DATA / NAME).read_bytes())
    monkeypatch.setenv("IGLIB_DATA_DIR", str(mirror))
    assert data.fetch(NAME) == mirror / NAME
    assert data.fetch("skimage-photos/chelsea.png") == data.PROJECT_DATA / "skimage-photos/chelsea.png"  # not there: next place
    (mirror / NAME).write_text("not the labels")
    with pytest.raises(RuntimeError, match="wrong sha256.*unset IGLIB_DATA_DIR"):
        data.fetch(NAME)


def test_a_mirror_folder_that_does_not_exist_is_an_error(fresh, monkeypatch):
    monkeypatch.setenv("IGLIB_DATA_DIR", str(fresh / "no-such-folder"))
    with pytest.raises(ValueError, match="IGLIB_DATA_DIR is set to .*no-such-folder.*not a folder"):
        data.fetch(NAME)


@pytest.mark.parametrize("name", [None, 3, Path(NAME), b"imagenet-labels/imagenet_classes.txt"])
def test_a_name_that_is_not_a_string_is_a_type_error(name):
    with pytest.raises(TypeError, match="name must be a relative data file name"):
        data.fetch(name)


def test_unknown_names_list_known_ones():
    with pytest.raises(ValueError, match=r"unknown data file 'ig-images/nope.jpg'; known names look like \['ig-images/"):
        data.fetch("ig-images/nope.jpg")


class _Serve:
    """A stand-in for urlopen that serves the committed bytes of NAME."""

    def __init__(self, *args, **kwargs):
        self.body = open(ROOT / "data" / NAME, "rb")

    def __enter__(self):
        return self.body

    def __exit__(self, *exc):
        self.body.close()


def test_the_cache_is_used_and_a_corrupt_cache_file_is_fetched_again(elsewhere, no_network, monkeypatch):
    cached = elsewhere / "cache" / NAME
    cached.parent.mkdir(parents=True)
    cached.write_bytes((ROOT / "data" / NAME).read_bytes())
    assert data.fetch(NAME) == cached  # a good cached copy: no download
    cached.write_text("truncated")
    data._verified.clear()
    monkeypatch.setattr(urllib.request, "urlopen", _Serve)
    assert data.fetch(NAME) == cached
    assert hashlib.sha256(cached.read_bytes()).hexdigest() == data.sources()[NAME]["sha256"]


def test_missing_everywhere_and_offline_says_what_to_do(elsewhere, no_network):
    with pytest.raises(RuntimeError, match="could not download .*git checkout -- data/.*set IGLIB_DATA_DIR"):
        data.fetch(NAME)
    assert not list((elsewhere / "cache").rglob("*.part"))


def test_a_download_with_the_wrong_sha256_is_not_kept(elsewhere, monkeypatch):
    import io

    class Response:
        def __enter__(self):
            return io.BytesIO(b"something else")

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: Response())
    with pytest.raises(RuntimeError, match="expected .*not kept"):
        data.fetch(NAME)
    assert not [p for p in (elsewhere / "cache").rglob("*") if p.is_file()]


def test_an_unwritable_cache_names_the_folder_and_the_variable(elsewhere, monkeypatch):
    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", denied)  # what a read-only folder does, also for root
    with pytest.raises(PermissionError, match=r"cannot write to the data cache folder .*cache/imagenet-labels.*set IGLIB_CACHE_DIR"):
        data.fetch(NAME)


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_cache_folder_names_the_folder_and_the_variable(elsewhere, no_network):
    cache = elsewhere / "cache"
    cache.mkdir()
    cache.chmod(0o500)
    try:
        with pytest.raises(PermissionError, match="cannot write to the data cache folder .*IGLIB_CACHE_DIR"):
            data.fetch(NAME)
    finally:
        cache.chmod(0o700)


CONCURRENT = textwrap.dedent("""
    import shutil, sys, time, urllib.request
    from pathlib import Path
    from iglib import data

    source, project = sys.argv[1], sys.argv[2]
    data.PROJECT_DATA = Path(project)  # empty: every process must download

    class Slow:  # the bytes in small pieces, so the four downloads overlap
        def __init__(self, *a, **k):
            self.f = open(source, "rb")
        def __enter__(self):
            return self
        def __exit__(self, *exc):
            self.f.close()
        def read(self, n=-1):
            time.sleep(0.02)
            return self.f.read(2048)

    urllib.request.urlopen = Slow
    print(data.fetch(sys.argv[3]))
""")


def test_four_processes_fetching_one_name_into_an_empty_cache_all_succeed(tmp_path):
    env = {**os.environ, "IGLIB_CACHE_DIR": str(tmp_path / "cache"), "PYTHONPATH": str(ROOT)}
    env.pop("IGLIB_DATA_DIR", None)
    name = "imagenet-labels/imagenet_classes.txt"
    args = [sys.executable, "-c", CONCURRENT, str(ROOT / "data" / name), str(tmp_path / "empty"), name]
    procs = [subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)]
    results = [(p.wait(timeout=600), *p.communicate()) for p in procs]
    for code, out, err in results:
        assert code == 0, err
        assert out.strip() == str(tmp_path / "cache" / name)
    files = [p.name for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    assert files == ["imagenet_classes.txt"]  # no temporary file left behind
    assert data.sha256(tmp_path / "cache" / name) == data.sources()[name]["sha256"]


def test_prefetch_command_checks_by_prefix_and_names_a_bad_one(fresh, capsys):
    assert data.main(["imagenet-labels/"]) == 0
    out = capsys.readouterr().out
    labels = [n for n in data.sources() if n.startswith("imagenet-labels/")]
    assert f"all {len(labels)} files present and sha256-checked" in out and NAME in out
    with pytest.raises(SystemExit):
        data.main(["no-such-folder/"])
    assert "no data file starts with ['no-such-folder/']" in capsys.readouterr().err


def test_the_data_page_lists_every_source_and_licence():
    # The data's documentation is the book's page docs/data.md, and the README links to it.
    assert "](docs/data.md)" in (ROOT / "README.md").read_text()
    section = (ROOT / "docs" / "data.md").read_text()
    for folder in {n.split("/")[0] for n in data.sources()}:
        assert f"`{folder}/`" in section, folder
    for entry in data.sources().values():
        assert entry["licence"].split(" (")[0] in section, entry["licence"]


def test_the_manifest_is_valid_json_sorted_by_name():
    names = list(json.loads(data.MANIFEST.read_text()))
    assert names == sorted(names)
