"""strategy-search: find the best imbalance strategy for a tabular binary classification task.

MLflow is never imported here: tracking loads only when a search is tracked.
"""

from strategy_search.export import load_model
from strategy_search.scoring import cross_validate
from strategy_search.search import SearchResult, SearchSettings, search
from strategy_search.space import SearchSpace, load_space
from strategy_search.strategy import Strategy, build_classifier, build_pipeline

__version__ = "0.1.0"

__all__ = [
    "SearchResult",
    "SearchSettings",
    "SearchSpace",
    "Strategy",
    "build_classifier",
    "build_pipeline",
    "cross_validate",
    "load_model",
    "load_space",
    "search",
]
