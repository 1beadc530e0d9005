"""WDBX: the multi-tenant vector database on usearch."""
