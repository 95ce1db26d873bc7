"""Shared by the tests that check what reaches an MLflow store."""

from __future__ import annotations

from pathlib import Path

from mlflow.tracking import MlflowClient


def everything_logged(client: MlflowClient, experiment: str, folder: Path) -> str:
    """Every param, tag, run name and top-level artifact of an experiment's runs, as one text."""
    experiment_id = client.get_experiment_by_name(experiment).experiment_id
    texts = []
    for run in client.search_runs([experiment_id], max_results=1000):
        texts += [str(run.data.params), str(run.data.tags), str(run.info.run_name)]
        for artifact in client.list_artifacts(run.info.run_id):
            if not artifact.is_dir:
                local = client.download_artifacts(run.info.run_id, artifact.path, str(folder))
                texts.append(Path(local).read_bytes().decode("utf-8", errors="replace"))
    return "\n".join(texts)
