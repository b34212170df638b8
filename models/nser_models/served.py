"""The model the MEC serves, `nser up` starts and `nser classify` uses unless told otherwise.

`pooled-student` (beyond the paper: the paper's student convolutions, pooled over time) ranks
real cries above real speech better than the paper's student in the package-disjoint
cross-validation (docs/evaluation/real/real-audio.md), with an eighth of its parameters. The
paper's three models stay registered and shipped for its tables.

A module of its own, free of torch, so that processes that only name the model (the `nser up`
supervisor, settings) need not import the networks.
"""

SERVED_MODEL = "pooled-student"

# The tensor names of every ONNX graph `nser export` writes (batch axis dynamic): input
# (batch, 1, mels, frames) float32 features, output (batch, classes) logits. Here, free of torch,
# so that the MEC serving those files needs no PyTorch.
ONNX_INPUT, ONNX_OUTPUT = "features", "logits"
