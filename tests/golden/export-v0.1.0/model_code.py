import mlflow.models

from strategy_search.tracking import ClassifierModel

mlflow.models.set_model(ClassifierModel())
