"""OAuth2 tokens, API keys, scopes, encryption at rest and the audit log."""

from abi.security.principal import ALL_SCOPES, Principal, Role
from abi.security.service import Issued, Security

__all__ = ["ALL_SCOPES", "Issued", "Principal", "Role", "Security"]
