"""Process helpers for tests: the production ones (nser_shared.processes), under test names."""

from nser_shared.processes import RedisChild, free_port, wait_until

__all__ = ["RedisChild", "free_port", "wait_until"]
