"""The token signing key: an ES256 (P-256) key pair kept in the data directory.

The private JWK lives in ``<data_dir>/keys/signing.jwk`` (mode 0600); its key id is the RFC
7638 thumbprint. The public half is published as a JWKS for resource servers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from joserfc.jwk import ECKey, KeySet

from abi.security.files import read_or_create

ALGORITHM = "ES256"


def _new_key_json() -> bytes:
    key = ECKey.generate_key("P-256", private=True)
    params = {"kid": key.thumbprint(), "alg": ALGORITHM, "use": "sig"}
    return json.dumps({**key.as_dict(private=True), **params}).encode()


class SigningKeys:
    """The signing key and the JWKS derived from it."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / "signing.jwk"
        data = json.loads(read_or_create(self.path, _new_key_json))
        self.private = ECKey.import_key(data)
        self.kid: str = data["kid"]
        self.private_set = KeySet([self.private])
        public = ECKey.import_key(self.private.as_dict(private=False))
        self.public_set = KeySet([public])

    def jwks(self) -> dict[str, Any]:
        """The public JSON Web Key Set."""
        return dict(self.public_set.as_dict(private=False))
