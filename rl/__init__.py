"""GRPO-family training with verifiable rewards: config, losses, rollout engines, the trainer loop.

Heavy dependencies (torch, transformers, vllm) are imported only where used.

>>> from rl import GRPOConfig, GRPOTrainer
>>> cfg = GRPOConfig(env="rlvr/Math-v1", model="/models/my-policy", loss="dapo", clip_eps_high=0.28)
>>> # GRPOTrainer(cfg).train()
"""

from .config import GRPOConfig, load_config
from .errors import CheckpointError, ConfigError, RLError, RolloutError
from .evaluate import EvalConfig, EvalResult, evaluate
from .losses import LOSSES
from .model_files import ModelFileError, convert_gguf
from .trainer import GRPOTrainer

__all__ = [
    "CheckpointError",
    "ConfigError",
    "EvalConfig",
    "EvalResult",
    "GRPOConfig",
    "GRPOTrainer",
    "LOSSES",
    "ModelFileError",
    "RLError",
    "RolloutError",
    "convert_gguf",
    "evaluate",
    "load_config",
]
