"""The engine's own transformers in the preprocessing step, where scikit-learn's would hold
several copies of a large table."""
