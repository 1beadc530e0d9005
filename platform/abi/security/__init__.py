"""OAuth2 tokens, API keys, scopes, encryption at rest and the audit log."""
