"""The engine's own classifiers, fitted as a pipeline's model step: models (under-sampling
ensembles, anomaly detectors, the PyTorch MLP), focal loss on a booster, class weighting applied
at fit time, and the average of several pipelines (an ensemble of strategies)."""
