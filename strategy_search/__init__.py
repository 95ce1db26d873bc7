"""strategy-search: find the best imbalance strategy for a tabular classification task with
rare classes, binary or multi-class.

MLflow and matplotlib are never imported here: tracking and plotting load only when used.
"""

from strategy_search._version import __version__
from strategy_search.classifier import StrategySearchClassifier
from strategy_search.errors import StrategySearchError
from strategy_search.export import load_model, predict_table
from strategy_search.result import SearchResult
from strategy_search.scoring import score_pipeline
from strategy_search.search import load_search, search
from strategy_search.settings import SearchSettings
from strategy_search.space import SearchSpace, load_space
from strategy_search.strategy import Ensemble, Strategy, build_classifier, build_pipeline

__all__ = [
    "Ensemble",
    "SearchResult",
    "SearchSettings",
    "SearchSpace",
    "Strategy",
    "StrategySearchClassifier",
    "StrategySearchError",
    "__version__",
    "build_classifier",
    "build_pipeline",
    "load_model",
    "load_search",
    "load_space",
    "predict_table",
    "score_pipeline",
    "search",
]
