"""The Redis results stream: its record, and reading it reliably."""
