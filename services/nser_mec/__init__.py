"""The MEC inference service: classifies feature windows from sensing devices with the distilled
student (or any registered model) and publishes every result to the results stream.

gRPC in (`servicer.py`) -> input checks (`nser_shared.wire.windows`) -> bounded queue and dynamic
micro-batching (`batcher.py`) -> the models (`engine.py`; loaded from `nser export`'s ONNX
files by `onnx_models.py`, or from the checkpoints by `checkpoints.py`; run by `runners.py` /
`backends.py`) -> the answer, and the results stream (`publisher.py`). `server.py` wires them
together; `nser serve` starts it.
"""
