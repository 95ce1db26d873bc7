"""The deployable classifiers: a fitted pipeline and the decision tuned for it (a threshold for
two classes, per-class weights for more), applied when predicting."""
