"""quart-schema with cached pydantic adapters: same results, one adapter per type."""

from __future__ import annotations

import pytest
from pydantic import BaseModel
from quart_schema import conversion

from abi.server import schema_cache


class Item(BaseModel):
    name: str
    size: int = 1


@pytest.fixture(autouse=True)
def installed() -> None:
    schema_cache.install()


def test_one_adapter_per_type() -> None:
    assert schema_cache.cached_type_adapter(Item) is schema_cache.cached_type_adapter(Item)
    assert schema_cache.cached_type_adapter(dict) is not schema_cache.cached_type_adapter(list)


def test_validation_still_validates() -> None:
    assert conversion.model_load({"name": "a"}, Item, ValueError) == Item(name="a")
    with pytest.raises(ValueError):
        conversion.model_load({"size": "big"}, Item, ValueError)


def test_dicts_holding_models_still_serialize() -> None:
    dumped = conversion.model_dump({"items": [Item(name="a")]})
    assert dumped == {"items": [{"name": "a", "size": 1}]}
