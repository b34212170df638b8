"""The offline reports score windows on the engine the MEC serves: the same probabilities as
the checkpoints run eagerly, for every window and both tasks."""

from __future__ import annotations

import numpy as np
import torch

from nser_loadtest.served import BATCH_WINDOWS, load_engine, served_probabilities
from nser_models.checkpoint import SHIPPED_DIR, load_checkpoint, shipped_checkpoint
from nser_models.metrics import predict_logits
from nser_models.served import SERVED_MODEL
from nser_shared.frontend.features import DEFAULT_FEATURE_CONFIG
from nser_shared.wire.labels import TASK_CLASSES, Task


def test_served_probabilities_match_the_checkpoints_for_every_window() -> None:
    generator = torch.Generator().manual_seed(0)
    count = BATCH_WINDOWS + 3  # more than one batch, the last one short
    features = torch.rand((count, *DEFAULT_FEATURE_CONFIG.shape), generator=generator) * 2 - 1
    served = served_probabilities(load_engine(SERVED_MODEL, SHIPPED_DIR), features)
    for task in Task:
        model = load_checkpoint(shipped_checkpoint(task, SERVED_MODEL, SHIPPED_DIR)).build()
        eager = predict_logits(model, features).softmax(dim=1).double().numpy()
        assert served[task].shape == (count, len(TASK_CLASSES[task]))
        np.testing.assert_allclose(served[task], eager, atol=1e-4)
