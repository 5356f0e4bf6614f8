"""The storage contract against MemoryStorage (the same cases run in Chromium in tests/e2e)."""

import pytest

from app.storage.memory import MemoryStorage
from tests.contract.faults import MemoryFaults
from tests.contract.storage_contract import CASES, reset


@pytest.mark.parametrize("case", CASES, ids=[fn.__name__ for fn in CASES])
async def test_contract(case):
    storage = MemoryStorage()
    await reset(storage)
    await case(storage, MemoryFaults(storage))


async def test_contract_has_cases():
    assert len(CASES) >= 12
