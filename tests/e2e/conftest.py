"""End-to-end fixtures: headless Chromium (Debian's package, driven by Playwright) and a JupyterLab
server on loopback that serves copies of the notebooks.

Without /usr/bin/chromium or the playwright package the tests skip, saying why; with ``CI`` set
they fail instead, so CI really runs them (``.ci/run`` installs Chromium). ``IGLIB_E2E_CHROMIUM``
names another Chromium binary.
"""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
SCREENSHOTS = ROOT / "build" / "e2e-screenshots"  # gitignored; CI keeps it as an artifact
CHROMIUM = Path(os.environ.get("IGLIB_E2E_CHROMIUM", "/usr/bin/chromium"))
# Debian's Chromium, headless, with nothing reaching out to the network (it is closed here and in CI).
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def require(ok: bool, reason: str) -> None:
    """Skip with ``reason`` unless ``ok``; under CI, fail instead: CI must run the end-to-end tests."""
    if ok:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so the end-to-end tests must run)", pytrace=False)
    pytest.skip(reason)


def browser_missing() -> str | None:
    """Why the browser tests cannot run here (Chromium or Playwright missing), or None."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing: apt-get install chromium"
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is missing: pip install -e '.[test]'"
    return None


def lab_missing() -> str | None:
    """Why the JupyterLab tests cannot run here (the browser, or JupyterLab, missing), or None."""
    if importlib.util.find_spec("jupyterlab") is None:
        return "jupyterlab is missing: pip install -e '.[lab]'"
    return browser_missing()


@pytest.fixture(scope="session")
def browser():
    """A headless Chromium for the whole session (no browser download: the Debian binary)."""
    missing = browser_missing()
    require(missing is None, missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _lab_settings(settings: Path) -> None:
    """User settings for this server only: every cell in the DOM (no virtual scrolling), no news, and
    no autosave (an autosave racing the test's own save makes JupyterLab ask "File Changed: overwrite?"
    and leaves the save waiting for an answer)."""
    files = {
        "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
        "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false", "checkForUpdates": False},
    }
    for name, values in files.items():
        (settings / name).parent.mkdir(parents=True, exist_ok=True)
        (settings / name).write_text(json.dumps(values))


class Lab:
    """A running JupyterLab: its URL, token, and the folder of notebook copies it serves."""

    def __init__(self, url: str, token: str, root: Path):
        self.url, self.token, self.root = url, token, root

    def api(self, path: str, method: str = "GET"):
        request = urllib.request.Request(f"{self.url}{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self) -> None:
        for session in self.api("/api/sessions"):
            self.api(f"/api/sessions/{session['id']}", method="DELETE")


@pytest.fixture(scope="session")
def lab(tmp_path_factory) -> Lab:
    """JupyterLab on 127.0.0.1 serving copies of notebooks/ (never the committed files), fast mode,
    figures written to a temporary folder, its own Jupyter config/data/runtime/settings folders."""
    missing = lab_missing()
    require(missing is None, missing)
    base = tmp_path_factory.mktemp("lab")
    root = base / "notebooks"
    shutil.copytree(NOTEBOOKS, root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    dirs = {name: base / name for name in ("config", "data", "runtime", "settings", "workspaces", "ipython", "figures")}
    for folder in dirs.values():
        folder.mkdir()
    _lab_settings(dirs["settings"])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "IPYTHON"))}
    env.update(
        JUPYTER_CONFIG_DIR=str(dirs["config"]), JUPYTER_DATA_DIR=str(dirs["data"]),
        JUPYTER_RUNTIME_DIR=str(dirs["runtime"]), JUPYTERLAB_SETTINGS_DIR=str(dirs["settings"]),
        JUPYTERLAB_WORKSPACES_DIR=str(dirs["workspaces"]), IPYTHONDIR=str(dirs["ipython"]),
        IGLIB_MODE="fast", IGLIB_FIGURES_DIR=str(dirs["figures"]), PYTHONUNBUFFERED="1",
        IGLIB_PROGRESS="1",  # progress bars on, as a learner sees them (the tests and CI turn them off elsewhere)
    )  # IGLIB_DATA_DIR, if set, passes through (without it: the committed data/)
    # The kernel's torch threads: under `make test` its pytest-xdist worker's share of the cores (the
    # root conftest.py sets OMP_NUM_THREADS: one each for two workers on two cores); otherwise one, as
    # the kernel shares the cores with Chromium and the server. The outputs are compared with the
    # committed ones within the last printed digit, which covers another thread count's sums.
    env.setdefault("OMP_NUM_THREADS", "1")
    port, token = _free_port(), os.urandom(12).hex()
    command = [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", "--ServerApp.allow_root=True",
        "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.expose_app_in_browser=True",  # window.jupyterapp: the kernel's status for the tests
    ]
    log = open(base / "server.log", "w")
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=root, start_new_session=True)
    running = Lab(f"http://127.0.0.1:{port}", token, root)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                running.api("/api/status")
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"JupyterLab did not start:\n{(base / 'server.log').read_text()[-3000:]}")
                time.sleep(0.3)
        yield running
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # the server and the kernels it started
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()
