"""``sparktag predict``: tag text with a logged or registered model, in-process (no JVM); prints entities."""

from __future__ import annotations

import argparse


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "model", help="model URI: models:/NAME@champion, runs:/RUN_ID/model, or a local folder"
    )
    parser.add_argument("text", nargs="*", help="texts to tag (one entity list per text)")
    parser.add_argument("--file", help="a file with one text per line")
    parser.add_argument(
        "--tracking-uri", default=None, help="MLflow tracking URI (default sqlite:///mlflow.db)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object per text")
    parser.set_defaults(run=run)


def entities(row: dict, ner_col: str = "ner") -> list[tuple[str, str, int, int]]:
    """``(text, type, begin, end)`` of each entity in one LightPipeline ``fullAnnotate`` row."""
    from sparktag.core.chunks import ner_converter

    sentence_col = next((c for c in ("sentence", "sentences", "document") if c in row), "document")
    token_col = next((c for c in ("token", "tokens") if c in row), "token")
    chunks = ner_converter(row[sentence_col], row[token_col], row[ner_col])
    return [(c.result, c.metadata["entity"], c.begin, c.end) for c in chunks]


def run(args: argparse.Namespace) -> int:
    import json
    import os

    import mlflow

    from sparktag.tracking import flavor

    texts = list(args.text)
    if args.file:
        with open(args.file, encoding="utf-8") as f:
            texts += [line.rstrip("\n") for line in f if line.strip()]
    if not texts:
        raise SystemExit("sparktag predict: give texts as arguments or --file FILE")
    mlflow.set_tracking_uri(
        args.tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or "sqlite:///mlflow.db"
    )
    light = flavor.load_model(args.model, kind="light")
    for text, row in zip(texts, light.fullAnnotate(texts), strict=True):
        found = entities(row)
        if args.json:
            print(json.dumps({"text": text, "entities": [dict(zip(("text", "type", "begin", "end"), e, strict=True)) for e in found]}))  # fmt: skip
        else:
            print(text)
            for chunk, kind, begin, end in found:
                print(f"  {kind:<6} {chunk!r} [{begin}:{end}]")
    return 0
