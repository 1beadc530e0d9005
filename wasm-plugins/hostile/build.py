"""Build the hostile cases: compile every ``*/plugin.wat`` to ``plugin.wasm`` and write the
cases that are not plain WAT (malformed, truncated, tampered.abi).

Run from the repository root: ``.venv/bin/python wasm-plugins/hostile/build.py``.
The security suite checks that the committed modules match what this script builds.
"""

from __future__ import annotations

import io
import sys
import zipfile
from pathlib import Path

import wasmtime

HERE = Path(__file__).resolve().parent
MALFORMED = b"\x00asm\x01\x00\x00\x00" + b"\x01\xff\xff\xff\xff\x0f" + b"hostile garbage section"


def compiled(wat_file: Path) -> bytes:
    """The module built from a WAT file."""
    return bytes(wasmtime.wat2wasm(wat_file.read_text(encoding="utf-8")))


def expected_modules() -> dict[Path, bytes]:
    """Every committed module path -> the bytes this script writes there."""
    out = {case / "plugin.wasm": compiled(case / "plugin.wat") for case in _wat_cases()}
    source = compiled(HERE / "truncated" / "source.wat")
    out[HERE / "truncated" / "plugin.wasm"] = source[: len(source) // 2]
    out[HERE / "malformed" / "plugin.wasm"] = MALFORMED
    return out


def _wat_cases() -> list[Path]:
    return sorted(p.parent for p in HERE.glob("*/plugin.wat"))


TAMPERED_MANIFEST = b"""name = "hostile-tampered"
version = "1.0.0"
description = "Signed, then its module was altered: the signature no longer matches."
"""


def tampered_bundle() -> bytes:
    """A harmless echo bundle, signed by a fresh key, whose module changed after signing."""
    from abi.plugins.bundle import Bundle
    from abi.plugins.manifest import parse_manifest
    from abi.plugins.signing import generate_key

    module = compiled(HERE / "truncated" / "source.wat")
    bundle = Bundle(parse_manifest(TAMPERED_MANIFEST), TAMPERED_MANIFEST, module)
    signed = bundle.pack(generate_key())
    source = zipfile.ZipFile(io.BytesIO(signed))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "plugin.wasm":
                data = data[:-1] + bytes([data[-1] ^ 0x01])
            target.writestr(info, data)
    return out.getvalue()


def main() -> int:
    for path, data in expected_modules().items():
        path.write_bytes(data)
        print(f"wrote {path.relative_to(HERE)} ({len(data)} bytes)")
    (HERE / "tampered.abi").write_bytes(tampered_bundle())
    print("wrote tampered.abi")
    return 0


if __name__ == "__main__":
    sys.exit(main())
