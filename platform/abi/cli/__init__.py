"""The ``abi`` command line: serve, tenant, client, token, plugin, db, agent, bench."""
