"""The paper's reported results (arXiv 2305.00725, Tables I-III, Fig. 9), printed beside ours.

Parameter counts and sizes (Table IV) live with the models in architectures.MODEL_REGISTRY.
"""

from nser_shared.wire.labels import Task

# Table I (clean) and Table II (DEMAND noise in the test split, SNR not stated), accuracy %.
CLEAN_ACCURACY: dict[str, dict[Task, float]] = {
    "teacher": {Task.DETECTION: 85.47, Task.TYPE: 73.80},
    "mobilenetv3s": {Task.DETECTION: 76.92, Task.TYPE: 65.80},
    "student": {Task.DETECTION: 80.58, Task.TYPE: 67.16},
}
NOISY_ACCURACY: dict[str, dict[Task, float]] = {
    "teacher": {Task.DETECTION: 82.26, Task.TYPE: 69.74},
    "mobilenetv3s": {Task.DETECTION: 76.92, Task.TYPE: 60.15},
    "student": {Task.DETECTION: 78.60, Task.TYPE: 66.42},
}
# Table III: the student per noise category (bus is not reported there).
STUDENT_PER_NOISE: dict[str, dict[Task, float]] = {
    "cafe": {Task.DETECTION: 72.86, Task.TYPE: 65.68},
    "kitchen": {Task.DETECTION: 78.85, Task.TYPE: 63.10},
    "office": {Task.DETECTION: 80.13, Task.TYPE: 63.84},
    "metro": {Task.DETECTION: 73.50, Task.TYPE: 65.31},
}
LATENCY_CLAIM = (
    "Fig. 9 (Intel Atom E3940, PyTorch 1.13, batch 1): the student is about 2x faster than the "
    "teacher and about 20 ms faster than MobileNetV3-small, and loads fastest."
)
