"""``sparktag evaluate``: score a logged, registered or saved model on a CoNLL file (in-process, no JVM).

The reports and chart of a training run's test set and its error analysis (``error_analysis.html``, with
``--compare RUN_ID`` the entities fixed and broken since that run), written to ``--output`` and logged as a new
MLflow run (or only printed with ``--no-track``).
"""

from __future__ import annotations

import argparse

from sparktag.cli.status import NOT_TRACKED, OK, UsageError


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "model", help="model URI: models:/NAME@champion, runs:/RUN_ID/model, or a local folder"
    )
    parser.add_argument("test", help="CoNLL test file (or folder/glob)")
    parser.add_argument(
        "--output", default="sparktag_eval", help="folder for the reports (default sparktag_eval)"
    )
    parser.add_argument(
        "--tracking-uri", help="MLflow tracking URI (default: MLFLOW_TRACKING_URI, else sqlite:///mlflow.db)"
    )
    parser.add_argument(
        "--experiment",
        help="experiment of the new run (default: MLFLOW_EXPERIMENT_NAME / _ID, else sparktag)",
    )
    parser.add_argument(
        "--no-track", action="store_true", help="only print and write the reports; log nothing"
    )
    parser.add_argument(
        "--compare", metavar="RUN_ID",
        help="a run that logged tagged_test_sentences.json: error_analysis.html lists the entities fixed and "
        "broken since",
    )  # fmt: skip
    parser.set_defaults(run=run)  # fmt: skip


def run(args: argparse.Namespace) -> int:
    import os
    import sys

    from sparktag.tracking.error_report import PreviousRunError
    from sparktag.tracking.evaluation import evaluate_model
    from sparktag.tracking.preflight import check_conll

    try:  # bad input fails here, in seconds, before the model is loaded
        check_conll(args.test, "test")
        if ":/" not in args.model and not os.path.isdir(args.model):
            raise FileNotFoundError(f"model {args.model!r} is not a folder; give a model folder or a "
                                    "models:/NAME@ALIAS or runs:/RUN_ID/model URI")  # fmt: skip
    except (OSError, ValueError) as err:
        raise UsageError(str(err)) from None
    try:  # a run to compare with that lacks the file fails before the model is loaded
        result = evaluate_model(args.model, args.test, output_dir=args.output, tracking_uri=args.tracking_uri,
                                experiment_name=args.experiment, track=not args.no_track,
                                compare_run_id=args.compare)  # fmt: skip
    except PreviousRunError as err:
        raise UsageError(str(err)) from None
    print(f"entity micro F1  {result.scores['final_entity_micro_f1']:.4f}")
    print(f"reports in {result.output_dir}")
    if result.tracking_error:
        print(f"WARNING: {result.tracking_error}", file=sys.stderr)
        return NOT_TRACKED
    print(result.destination() if result.run_id else "not tracked (--no-track)")
    return OK
