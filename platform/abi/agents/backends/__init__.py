"""The backends that produce an agent's answer: plugin, retrieval and LLM."""
