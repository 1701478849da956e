"""pytest plugin for `three_way.py suite --freeze-gc`: `gc.freeze()` once the tests are collected.

A suite whose fixtures call `gc.collect()` after every test (TransformerLens's does) spends
most of its time walking the objects its imports made (torch, transformers: about 400,000),
the same in every mode. Frozen, they are left out of each collection, which then walks only
what the tests made since.
"""

import gc

import pytest


def pytest_collection_finish(session: pytest.Session) -> None:
    gc.freeze()
