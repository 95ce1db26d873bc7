"""The commands that read what a search stored, never searching again: ``export`` (the answer
fitted on all rows, as a model folder), ``report`` (one HTML file about the search) and
``predict`` (new rows scored with an exported model)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from strategy_search.cli.arguments import CommandTable, at_least_one, threshold_rule
from strategy_search.cli.console import say, warn_about_threshold
from strategy_search.cli.inputs import STUDY_NAME_TAG, prepared, read_data, require_stores
from strategy_search.config import RunConfig, load_config
from strategy_search.errors import UsageError
from strategy_search.masking import mask_secrets
from strategy_search.model_folder import read_strategy_file
from strategy_search.result import SearchResult, load_result
from strategy_search.table_file import OUTPUT_SUFFIXES, data_suffix
from strategy_search.thresholds import ThresholdRule, format_decision

__all__ = ["add_parsers", "cmd_export", "cmd_predict", "cmd_report"]


def add_parsers(commands: CommandTable) -> None:
    commands.add(
        "export",
        "fit the search's answer (the ensemble of its best trials, or its best trial) on all rows and write "
        "a model folder (MLflow model, strategy.yaml, model card)",
        cmd_export,
        config=True,
        options=_export_options,
    )
    commands.add(
        "report",
        "write one self-contained HTML file about a search (answer, plots, leaderboard, data, settings, timings) "
        "from what it stored",
        cmd_report,
        config=True,
        options=_report_options,
    )
    commands.add(
        "predict",
        "score new rows with an exported model: writes the rows plus `score` (positive-class probability; "
        "a multi-class model: `score_<class>` for each class) and `prediction` (label at the model's threshold)",
        cmd_predict,
        options=_predict_options,
    )


def _export_options(export: argparse.ArgumentParser) -> None:
    export.add_argument("--out", help="output folder (default: export.dir of the config)")
    export.add_argument("--run-id", help="MLflow run id of the search (default: the latest finished one)")
    export.add_argument(
        "--threshold",
        type=threshold_rule,
        metavar="RULE",
        help="re-pick the threshold on the answer's stored out-of-fold scores (no new search): best_f1, argmax, "
        "'precision>=0.9', 'recall>=0.8' or fn_cost=5; a multi-class model takes best_f1 or argmax "
        "(default: the search's own rule)",
    )


def _report_options(report: argparse.ArgumentParser) -> None:
    report.add_argument("--run-id", help="MLflow run id of the search (default: the latest finished one)")
    report.add_argument("--out", default="report.html", help="the HTML file to write (default: report.html)")


def _predict_options(predict: argparse.ArgumentParser) -> None:
    predict.add_argument("model_dir", help="folder written by `strategy-search export`")
    predict.add_argument("data", help=".csv, .csv.gz or .parquet file with the feature columns")
    predict.add_argument("--out", help="output .csv or .parquet file (default: CSV on standard output)")
    predict.add_argument(
        "--threshold",
        type=threshold_rule,
        metavar="RULE",
        help="use a threshold picked by RULE on the model's stored out-of-fold scores instead of the exported one: "
        "best_f1, argmax, 'precision>=0.9', 'recall>=0.8' or fn_cost=5 (multi-class: best_f1 or argmax)",
    )
    predict.add_argument(
        "--explain",
        type=at_least_one,
        metavar="K",
        default=0,
        help="add each row's K largest column contributions (explain_1_feature, explain_1_contribution, ...): "
        "the row's score minus its expected score with that column drawn from its training distribution",
    )


def _stored_search(args: argparse.Namespace) -> tuple[RunConfig, dict[str, Any], SearchResult]:
    """The config, the MLflow parent run (``--run-id``, or the latest) and the search's
    result rebuilt from its stored study: what `export` and `report` read."""
    config = load_config(args.config, overrides=args.set)
    data = prepared(config)
    from strategy_search.tracking import find_search_run

    require_stores(config, config.tracking_uri, config.storage_url)
    run = find_search_run(tracking_uri=config.tracking_uri, experiment=config.experiment_name, run_id=args.run_id)
    study_name = run["tags"].get(STUDY_NAME_TAG)
    if not study_name:
        raise UsageError(f"MLflow run {run['run_id']} is not a strategy-search search run (no {STUDY_NAME_TAG} tag).")
    return config, run, load_result(data, config.settings(), storage=config.storage_url, study_name=study_name)


def cmd_export(args: argparse.Namespace) -> int:
    from strategy_search.tracking import SearchTracker

    config, run, result = _stored_search(args)
    out_dir = Path(args.out).resolve() if args.out else config.export_dir
    trials = result.answer_trials
    result.export(
        out_dir,
        threshold=args.threshold,
        source={"run_id": run["run_id"], "config_path": str(config.source_path)},
    )
    tracker = SearchTracker(tracking_uri=config.tracking_uri, experiment=config.experiment_name)
    version = tracker.log_model_dir(run["run_id"], out_dir, register_as=config.tracking.register_as)
    what = f"trial {trials[0]}" if len(trials) == 1 else f"an ensemble of trials {', '.join(map(str, trials))}"
    meta = read_strategy_file(out_dir)
    print(f"exported {what} ({result.best_strategy.describe()}) to {out_dir}")
    decision = format_decision(meta["threshold"], digits=4, classes=result.summary.classes)
    print(f"threshold {decision} (rule {meta['threshold_rule']})")
    warn_about_threshold(meta["threshold"])
    if version is not None:
        print(f"registered as {config.tracking.register_as!r} version {version}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from strategy_search.report import build_report

    config, run, result = _stored_search(args)
    text = build_report(
        result,
        title=f"strategy-search: {config.experiment_name}",
        config_text=mask_secrets(Path(config.source_path).read_text()) if config.source_path else None,
        run_id=run["run_id"],
    )
    out = Path(args.out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(f"wrote {out} ({len(text) / 1024:.0f} KiB, self-contained: open it in any browser)")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from strategy_search.export import load_exported, rethreshold, score_table
    from strategy_search.new_rows import input_notes

    out_format = _output_format(args.out)  # refused before any work
    data = read_data(args.data)
    classifier, meta = load_exported(Path(args.model_dir))
    if args.threshold is not None:
        threshold = rethreshold(classifier, Path(args.model_dir), args.threshold)
        say(
            "note",
            f"threshold {format_decision(threshold, digits=4, classes=(meta.get('task') or {}).get('classes', ()))} "
            f"(rule {ThresholdRule.parse(args.threshold)}, on the "
            "model's stored out-of-fold scores) instead of the exported one",
        )
        warn_about_threshold(threshold)
    predictions = score_table(classifier, meta, data, explain=args.explain)
    for note in input_notes(meta, data):
        say("note", note)
    if args.out is None:
        predictions.to_csv(sys.stdout, index=False)
    elif out_format == ".parquet":
        predictions.to_parquet(args.out, index=False)
    else:
        predictions.to_csv(args.out, index=False)
    if args.out is not None:
        print(f"wrote {len(predictions)} predictions to {args.out} ({out_format[1:]})", file=sys.stderr)
    return 0


def _output_format(out: str | None) -> str:
    """The predictions' file format, by the output file's name: ``.csv`` or ``.parquet``."""
    if out is None:
        return ".csv"
    found = data_suffix(Path(out), OUTPUT_SUFFIXES)
    if found is None:
        raise UsageError(
            f"--out {out!r}: predictions are written as {' or '.join(OUTPUT_SUFFIXES)}, chosen by the file name's "
            "ending; name the file e.g. predictions.csv or predictions.parquet"
        )
    return found
