"""Data sets: the synthetic vocalisation corpus, real data set loaders, noise, splits."""
