"""Model backends in one place, with one registry (:mod:`.registry`).

``llm`` (text LLMs), ``lmm`` / ``lmm_hf`` (video LMMs: transformers Qwen2-VL-class models
with KV prefill and reuse, OpenAI-compatible endpoints), ``kv_cache`` (KV blocks and how
their positions work), ``vlm`` (the image-text hooks the agent calls). Frame encoders,
the text embedder, ASR and OCR are registered by reference to their indexer loaders.

Everything above this layer (indexer, tools, agent, surfaces) takes its models from here;
backends import their runtime lazily behind import guards.
"""
