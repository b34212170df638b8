"""The peer a user would pick instead of the MEC: KServe's Python ModelServer serving one
exported network (ONNX) on ONNX Runtime with one intra-op thread, over the Open Inference
Protocol (gRPC). Per window it runs that one network and answers; nothing is published.

It runs in a virtual environment of its own (kserve and onnxruntime are not nser's
dependencies), started by the side-by-side benchmark:

    python kserve_peer.py --model student=student.onnx --model teacher=teacher.onnx --grpc_port 8081

Its input is the load generator's window as the MEC takes it over the same protocol (tensor
`features`, [1, 1, mels, frames], FP32); the request's device parameters are ignored. Its output
is `detection`, the softmax of the network's logits.
"""

import argparse

import numpy as np
import onnxruntime as ort
from kserve import InferOutput, InferRequest, InferResponse, Model, ModelServer


class OnnxModel(Model):  # type: ignore[misc]  # kserve is not typed
    def __init__(self, name: str, path: str) -> None:
        super().__init__(name)
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        self.session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name
        self.ready = True

    async def predict(
        self, payload: InferRequest, headers: object = None, response_headers: object = None
    ) -> InferResponse:
        features = payload.inputs[0].as_numpy().astype(np.float32, copy=False)
        logits = self.session.run(None, {self.input: features})[0]
        shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
        probabilities = (shifted / shifted.sum(axis=1, keepdims=True)).astype(np.float32)
        output = InferOutput(name="detection", shape=list(probabilities.shape), datatype="FP32")
        output.set_data_from_numpy(probabilities)
        return InferResponse(model_name=self.name, infer_outputs=[output], response_id=payload.id)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--model", action="append", required=True, help="NAME=PATH of an exported ONNX network"
    )
    args, _ = parser.parse_known_args()  # ModelServer reads --grpc_port, --http_port itself
    models = [OnnxModel(*spec.split("=", 1)) for spec in args.model]
    ModelServer(workers=1).start(models)


if __name__ == "__main__":
    main()
