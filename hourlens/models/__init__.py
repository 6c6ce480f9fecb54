"""Model backends in one place: LLMs (``llm``), video LMMs (``vlm``).

Everything above this layer (indexer, tools, agent, surfaces) takes its models from here;
backends import their runtime lazily behind import guards.
"""
