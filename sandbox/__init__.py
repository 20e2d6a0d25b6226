"""rlvr sandbox package."""
