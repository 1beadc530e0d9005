"""plugin.toml parsing: what is accepted, and that every refusal names the bad key."""

from __future__ import annotations

import pytest

from abi.plugins.errors import ConfigInvalid, ManifestInvalid
from abi.plugins.limits import Limits
from abi.plugins.manifest import parse_manifest

FULL = """
name = "sentiment"
version = "1.2.0-beta.1"
description = "Scores text"
author = "Abi"
license = "Apache-2.0"
abi = 1
module = "sentiment.wasm"
entry_points = ["handle", "batch"]
[capabilities]
log = {}
http = { allowed_hosts = ["api.example.com"], max_response_bytes = 4096 }
"vectors.read" = { collections = ["docs"] }
[limits]
fuel = 5_000
memory_mb = 8
[config_schema]
type = "object"
properties = { threshold = { type = "number", minimum = 0 } }
required = ["threshold"]
[dependencies]
tokenizer = "^1.0"
"""


def test_full_manifest() -> None:
    m = parse_manifest(FULL)
    assert (m.name, m.version, m.module) == ("sentiment", "1.2.0-beta.1", "sentiment.wasm")
    assert m.entry_points == ("handle", "batch")
    assert dict(m.capabilities["http"]) == {
        "allowed_hosts": ["api.example.com"],
        "max_response_bytes": 4096,
    }
    assert m.limits == Limits(fuel=5_000, memory_mb=8)
    assert dict(m.dependencies) == {"tokenizer": "^1.0"}
    assert m.key == "sentiment@1.2.0-beta.1"


def test_defaults() -> None:
    m = parse_manifest('name = "x"\nversion = "0.1.0"\n')
    assert m.module == "plugin.wasm"
    assert m.entry_points == ("handle",)
    assert m.capabilities == {} and m.limits == Limits()


def test_capabilities_as_a_list_of_names() -> None:
    m = parse_manifest('name = "x"\nversion = "0.1.0"\ncapabilities = ["log", "kv"]\n')
    assert set(m.capabilities) == {"log", "kv"}


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('version = "1.0.0"', "name"),
        ('name = "Bad Name"\nversion = "1.0.0"', "name"),
        ('name = "x"', "version"),
        ('name = "x"\nversion = "1.0"', "version"),
        ('name = "x"\nversion = "1.0.0"\nabi = 2', "abi"),
        ('name = "x"\nversion = "1.0.0"\nmodule = "../evil.wasm"', "module"),
        ('name = "x"\nversion = "1.0.0"\nentry_points = []', "entry_points"),
        ('name = "x"\nversion = "1.0.0"\nentry_points = ["abi_alloc"]', "entry_points"),
        ('name = "x"\nversion = "1.0.0"\nsurprise = 1', "surprise"),
        ('name = "x"\nversion = "1.0.0"\n[capabilities]\nteleport = {}', "capabilities.teleport"),
        ('name = "x"\nversion = "1.0.0"\n[capabilities]\nhttp = {}', "capabilities.http"),
        ('name = "x"\nversion = "1.0.0"\n[capabilities]\nlog = { level = 1 }', "capabilities.log"),
        (
            'name = "x"\nversion = "1.0.0"\n[capabilities]\n"vectors.read" = { collections = "a" }',
            "capabilities.vectors.read",
        ),
        ('name = "x"\nversion = "1.0.0"\n[limits]\nfuel = 0', "limits.fuel"),
        ('name = "x"\nversion = "1.0.0"\n[limits]\nspeed = 3', "limits.speed"),
        ('name = "x"\nversion = "1.0.0"\n[config_schema]\ntype = 5', "config_schema"),
        ('name = "x"\nversion = "1.0.0"\n[dependencies]\ny = "about 1"', "dependencies.y"),
        ('name = "x"\nversion = "1.0.0"\n[dependencies]\nx = "^1"', "dependencies.x"),
        ('name = "x"\nversion = ', "(file)"),
        ('name = "x"\nversion = "1.0.0"\nbuild = "zig"', "build"),
        ('name = "x"\nversion = "1.0.0"\n[build]\nflags = []', "build.flags"),
        ('name = "x"\nversion = "1.0.0"\n[build]\nlang = "cobol"', "build.lang"),
        ('name = "x"\nversion = "1.0.0"\n[build]\ncommand = "make"', "build.command"),
    ],
)
def test_refusals_name_the_key(text: str, key: str) -> None:
    with pytest.raises(ManifestInvalid) as info:
        parse_manifest(text)
    assert info.value.code == "plugin.manifest_invalid"
    assert info.value.details["key"] == key
    assert key in info.value.message


def test_config_values_are_validated_against_the_schema() -> None:
    m = parse_manifest(FULL)
    assert m.validate_config({"threshold": 0.5}) == {"threshold": 0.5}
    with pytest.raises(ConfigInvalid) as info:
        m.validate_config({"threshold": -1})
    assert info.value.details["key"] == "threshold"
    with pytest.raises(ConfigInvalid):
        m.validate_config({})


def test_to_dict_round_trips_the_fields() -> None:
    body = parse_manifest(FULL).to_dict()
    assert body["capabilities"]["vectors.read"] == {"collections": ["docs"]}
    assert body["limits"]["fuel"] == 5_000


def test_build_table_is_accepted_and_ignored_by_the_host() -> None:
    manifest = parse_manifest('name = "x"\nversion = "1.0.0"\n[build]\nlang = "zig"\n')
    assert manifest.name == "x"
    assert "build" not in manifest.to_dict()
