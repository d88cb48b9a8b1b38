"""``sparktag predict``: tag text with a logged or registered model, in-process (no JVM); prints entities.

Texts come from the arguments, a file (``--file``) or stdin, one per line; ``--jsonl`` prints one JSON object
per text on stdout (everything else goes to stderr), so the output can be piped.
"""

from __future__ import annotations

import argparse

from sparktag.cli.status import OK, UsageError


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "model", help="model URI: models:/NAME@champion, runs:/RUN_ID/model, or a local folder"
    )
    parser.add_argument(
        "text", nargs="*", help="texts to tag; none: read them from --file or stdin, one per line"
    )
    parser.add_argument("--file", help="a file with one text per line ('-': stdin)")
    parser.add_argument(
        "--tracking-uri", help="MLflow tracking URI (default: MLFLOW_TRACKING_URI, else sqlite:///mlflow.db)"
    )
    parser.add_argument(
        "--jsonl", "--json", action="store_true", help="print one JSON object per text (JSON lines)"
    )
    parser.set_defaults(run=run)  # fmt: skip


def entities(row: dict, ner_col: str = "ner") -> list[tuple[str, str, int, int]]:
    """``(text, type, begin, end)`` of each entity in one LightPipeline ``fullAnnotate`` row."""
    from sparktag.core.ner_converter import ner_converter

    sentence_col = next((c for c in ("sentence", "sentences", "document") if c in row), "document")
    token_col = next((c for c in ("token", "tokens") if c in row), "token")
    chunks = ner_converter(row[sentence_col], row[token_col], row[ner_col])
    return [(c.result, c.metadata["entity"], c.begin, c.end) for c in chunks]


def read_texts(args: argparse.Namespace) -> list[str]:
    """The texts of the command line, else of ``--file`` or stdin (one per line, blank lines skipped)."""
    import sys

    texts = list(args.text)
    if args.file and args.file != "-":
        with open(args.file, encoding="utf-8") as f:
            texts += [line.rstrip("\r\n") for line in f if line.strip()]
    elif args.file == "-" or (not texts and not sys.stdin.isatty()):
        texts += [line.rstrip("\r\n") for line in sys.stdin if line.strip()]
    if not texts:
        raise UsageError("give texts as arguments, --file FILE, or pipe them in (one per line)")
    return texts


def run(args: argparse.Namespace) -> int:
    import json
    import sys

    from sparktag.tracking.evaluation import load_light
    from sparktag.tracking.settings import resolve_settings, use_settings

    try:
        texts = read_texts(args)
    except OSError as err:
        raise UsageError(str(err)) from None
    settings = resolve_settings(args.tracking_uri)
    with use_settings(settings):
        light = load_light(args.model)
    for text, row in zip(texts, light.fullAnnotate(texts), strict=True):
        found = entities(row)
        if args.jsonl:
            print(json.dumps({"text": text, "entities": [dict(zip(("text", "type", "begin", "end"), e, strict=True)) for e in found]}))  # fmt: skip
        else:
            print(text)
            for chunk, kind, begin, end in found:
                print(f"  {kind:<6} {chunk!r} [{begin}:{end}]")
    where = f"{args.model} from {settings.store()}" if ":/" in args.model else args.model
    print(f"tagged {len(texts)} texts with {where}", file=sys.stderr)
    return OK
