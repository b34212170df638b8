"""Run in a virtual environment of its own, with only `tritonclient[grpc]` installed (its
generated `inference` messages would clash with the MEC's in one process): drives the MEC over
the Open Inference Protocol with the stock client, and prints what it saw as JSON.

    python tritonclient_probe.py HOST:PORT REQUEST.json
"""

import json
import sys

import numpy as np
import tritonclient.grpc as grpcclient
from tritonclient.utils import InferenceServerException


def main() -> None:
    address, request_path = sys.argv[1], sys.argv[2]
    with open(request_path) as file:
        request = json.load(file)
    client = grpcclient.InferenceServerClient(url=address)
    seen = {
        "live": client.is_server_live(),
        "ready": client.is_server_ready(),
        "model_ready": client.is_model_ready(request["model"]),
        "inputs": [i.name for i in client.get_model_metadata(request["model"]).inputs],
    }
    features = np.asarray(request["features"], dtype=np.float32).reshape(request["shape"])
    tensor = grpcclient.InferInput("features", list(features.shape), "FP32")
    tensor.set_data_from_numpy(features)
    result = client.infer(
        request["model"],
        [tensor],
        outputs=[grpcclient.InferRequestedOutput("detection")],
        request_id="probe-1",
        parameters=request["parameters"],
    )
    response = result.get_response()
    seen["id"] = response.id
    seen["detection"] = result.as_numpy("detection").tolist()
    seen["result_id"] = response.parameters["result_id"].string_param
    try:
        bad = dict(request["parameters"], device_kind="toaster")
        client.infer(request["model"], [tensor], parameters=bad)
        seen["refused"] = None
    except InferenceServerException as exc:
        seen["refused"] = [exc.status(), exc.message()]
    print(json.dumps(seen))


if __name__ == "__main__":
    main()
