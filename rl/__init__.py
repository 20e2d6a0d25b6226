"""rlvr rl package."""
