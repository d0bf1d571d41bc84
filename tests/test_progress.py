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
