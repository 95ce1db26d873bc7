"""The MLflow UI as `strategy-search ui` serves it: MLflow's own server plus one page that opens
a search's trials with its metrics as visible columns.

MLflow (3.x) keeps the runs table's visible columns in the browser's localStorage and offers no
URL parameter for them, so a first visit shows Created, Dataset, Duration, Source and Models,
not the search's metrics; it also opens its assistant panel on a first visit to localhost and
falls back to its GenAI pages on a run's own page. MLflow's supported way to add routes to its
server is an app plugin (entry-point group ``mlflow.app``, started with ``mlflow ui --app-name``,
as its ``basic-auth`` app is): this one serves :data:`LANDING_PATH`, a page on the UI's own
origin that sets those browser settings (keeping any other column the user chose) and then
goes to the trials view. The localStorage keys are MLflow's internal ones, read off its UI
bundle: tests/test_browser.py checks that they still work on the pinned MLflow.
"""

from __future__ import annotations

import html
import json
import os
import re
import urllib.parse
from typing import Any

__all__ = ["APP_NAME", "LANDING_PATH", "create_app", "landing_page", "runs_view_url", "trials_view_url"]

APP_NAME = "strategy-search"  # its name in the ``mlflow.app`` entry-point group (pyproject.toml)
LANDING_PATH = "/strategy-search/open"
# The columns the page makes visible: the metrics every search records on each trial.
SHOWN_METRICS = ("pr_auc", "f1")
_COLUMNS_KEY = 'MLflowLocalStorage-1.1-ExperimentPage-["{experiment}"]-ReactComponentState'
_SCRIPT = """
var key = {key};
var state = {{}};
try {{ state = JSON.parse(localStorage.getItem(key) || "{{}}") || {{}}; }} catch (e) {{ state = {{}}; }}
var columns = {columns};
var chosen = Array.isArray(state.selectedColumns) ? state.selectedColumns : [];
state.selectedColumns = columns.concat(chosen.filter(function (c) {{ return columns.indexOf(c) < 0; }}));
localStorage.setItem(key, JSON.stringify(state));
localStorage.setItem("mlflow.workflowType_v1", JSON.stringify("machine_learning"));
localStorage.setItem("mlflow.assistant.panelOpen_v1", "false");
localStorage.setItem("mlflow.assistant.fab.autoOpenedOnFirstLoad_v1", "true");
location.replace({target});
"""


# The runs table as a page worth opening: the trials (children hide under the parent otherwise),
# best first by the primary metric.
def runs_view_url(base_url: str, experiment_id: str, *, metric: str = "pr_auc") -> str:
    from strategy_search.tracking import KIND_TAG  # lazily: tracking loads mlflow

    view = {
        "workflowType": "machine_learning",  # MLflow's model-training pages, not its GenAI ones
        "searchFilter": f"tags.`{KIND_TAG}` = 'trial'",
        "orderByKey": f"metrics.`{metric}`",
        "orderByAsc": "false",
    }
    return f"{base_url}/#/experiments/{experiment_id}/runs?{urllib.parse.urlencode(view, quote_via=urllib.parse.quote)}"


def trials_view_url(base_url: str, experiment_id: str, *, metric: str = "pr_auc", landing_page: bool = True) -> str:
    """The link `strategy-search ui` prints: this module's landing page, which opens
    :func:`runs_view_url` with the search's metrics as visible columns, or (served without that
    app) the runs view itself."""
    if not landing_page:
        return runs_view_url(base_url, experiment_id, metric=metric)
    query = urllib.parse.urlencode({"experiment": experiment_id, "metric": metric})
    return f"{base_url}{LANDING_PATH}?{query}"


def landing_page(experiment: str, metric: str) -> str:
    """The page's HTML for experiment ``experiment``, its trials sorted by ``metric``."""
    shown = [metric] + [m for m in SHOWN_METRICS if m != metric]
    script = _SCRIPT.format(
        key=json.dumps(_COLUMNS_KEY.format(experiment=experiment)),
        columns=json.dumps([f"metrics.`{m}`" for m in shown]),
        target=json.dumps(runs_view_url("", experiment, metric=metric)),
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>strategy-search trials</title></head>'
        f"<body><p>Opening the trials of experiment {html.escape(experiment)} ...</p><script>{script}</script>"
        "</body></html>"
    )


def _open_view() -> Any:
    from flask import Response, request

    experiment = request.args.get("experiment", "")
    metric = request.args.get("metric", SHOWN_METRICS[0])
    if not re.fullmatch(r"\d+", experiment) or not re.fullmatch(r"[A-Za-z0-9_./-]+", metric):
        message = (
            f"experiment must be an experiment id (digits) and metric a metric name; got {experiment!r}, {metric!r}"
        )
        return Response(message, status=400, mimetype="text/plain")
    return Response(landing_page(experiment, metric), mimetype="text/html")


def create_app() -> Any:
    """MLflow's server app with :data:`LANDING_PATH` added (the factory ``mlflow ui --app-name``
    calls): Flask for waitress and gunicorn, wrapped in MLflow's FastAPI app for uvicorn, as
    MLflow's own basic-auth app does."""
    from mlflow.server import app

    if LANDING_PATH not in {rule.rule for rule in app.url_map.iter_rules()}:
        app.add_url_rule(LANDING_PATH, "strategy_search_open", _open_view)
    if os.environ.get("_MLFLOW_SGI_NAME", "uvicorn") == "uvicorn":
        from mlflow.server.fastapi_app import create_fastapi_app

        return create_fastapi_app(app)
    return app
