"""Fixtures shared by the tests: float64 as the default dtype where exactness is checked; one torch thread."""
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


@pytest.fixture(scope="module")
def one_thread():
    """One torch thread for a module (``pytestmark = pytest.mark.usefixtures("one_thread")``): tiny models
    and tensors run faster on one, and do not fight the other test worker for a 2-core machine's cores."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
