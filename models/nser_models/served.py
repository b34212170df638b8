"""The model the MEC serves, `nser up` starts and `nser classify` uses unless told otherwise.

A module of its own, free of torch, so that processes that only name the model (the `nser up`
supervisor, settings) need not import the networks.
"""

SERVED_MODEL = "student"
