"""Fixtures shared by the tests: float64 as the default dtype where exactness is checked."""
from __future__ import annotations

import pytest
import torch


def _default_float64():
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


@pytest.fixture
def float64():
    """float64 as torch's default dtype for one test, restored afterwards."""
    yield from _default_float64()


@pytest.fixture(scope="module")
def float64_module():
    """float64 for a whole module (hypothesis tests cannot take function-scoped fixtures)."""
    yield from _default_float64()
