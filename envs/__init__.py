"""rlvr envs package."""
