"""The ML core: the paper's three models, data sets, distillation training and evaluation."""
