"""The engine's own samplers (imbalanced-learn ``fit_resample``), run on training folds only:
the generative oversamplers, SMOTE-NC in bounded memory, and the wrapper that adapts any sampler
to the fold it runs on."""
