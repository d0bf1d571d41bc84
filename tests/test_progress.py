"""iglib.progress: a tqdm bar where someone watches, nothing in CI or in nbval-compared outputs."""
from __future__ import annotations

import io

import pytest

from iglib import progress as pg


@pytest.mark.parametrize("env, expected", [({"IGLIB_PROGRESS": "1", "CI": "true"}, True),
                                           ({"IGLIB_PROGRESS": "0"}, False),
                                           ({"CI": "true"}, False),
                                           ({}, True)])
def test_shown_follows_the_environment(monkeypatch, env, expected):
    monkeypatch.delenv("IGLIB_PROGRESS", raising=False)
    monkeypatch.delenv("CI", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert pg.shown() is expected


def test_a_bad_setting_is_named(monkeypatch):
    monkeypatch.setenv("IGLIB_PROGRESS", "yes")
    with pytest.raises(ValueError, match="IGLIB_PROGRESS"):
        pg.shown()


@pytest.mark.parametrize("flag, drawn", [("1", True), ("0", False)])
def test_the_bar_is_drawn_only_when_shown(monkeypatch, flag, drawn):
    monkeypatch.setenv("IGLIB_PROGRESS", flag)
    out = io.StringIO()
    assert list(pg.progress(range(5), desc="images", file=out)) == [0, 1, 2, 3, 4]
    assert ("images" in out.getvalue() and "5/5" in out.getvalue()) is drawn


@pytest.mark.parametrize("hide", [False, True])
def test_a_manual_bar_and_hide(monkeypatch, hide):
    """``progress(None, total=n)`` advanced by ``update`` (at_scale's bar of items), hidden on request
    (every rank but 0) even where bars are shown."""
    monkeypatch.setenv("IGLIB_PROGRESS", "1")
    out = io.StringIO()
    bar = pg.progress(None, desc="questions", total=7, hide=hide, file=out)
    bar.update(3)
    bar.update(4)
    bar.close()
    assert ("questions" in out.getvalue() and "7/7" in out.getvalue()) is not hide
