"""Multi-node mode: Redis for cross-node events (WebSocket fan-out) and shared rate limits.

Enabled by ``store.redis_url`` (the ``redis`` extra); without it nothing here touches Redis
and Abi runs on its in-process bus and per-process limits. PostgreSQL as the shared metadata
store needs nothing here (``store.database_url``, the ``postgres`` extra).
"""

from abi.cluster.component import Cluster

__all__ = ["Cluster"]
