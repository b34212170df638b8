"""Process helpers for tests: the production ones (nser_up.processes), under test names."""

from nser_up.processes import RedisChild, free_port, wait_until

__all__ = ["RedisChild", "free_port", "wait_until"]
