"""Sound made to order: the devices' scenes (scenes.py), the synthetic voices in them and in the
synthetic corpus (voices.py), and noise (noise.py). Everything is seeded and deterministic.
"""
