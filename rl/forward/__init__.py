"""Hand-written forwards of Llama-architecture models (Llama, Qwen2), used where HF's would cost
more.

* :mod:`.llama` - the static-KV-cache sampling decoder (``LeanDecoder``, used by ``HFEngine``) and
  the plain training forward (``causal_logits``); both match the transformers forward exactly;
* :mod:`.shared_prefix` - the training forward that reads each group's prompt once.

They are not rollout engines (those are in :mod:`rl.engines`); torch is imported only here, on use.
"""
