"""One of the concurrent training runs of ``test_concurrency.py``, as its own OS process and without Spark.

It does what ``Pipeline.fit`` with autologging does, minus the JVM: featurize CoNLL sentences with the
pipeline's own stages through LightPipeline (the tiny BERT gives the vectors), train the tagger with the pure
trainer while sparktag's :class:`~sparktag.tracking.listener.MlflowListener` logs its events, wrap the weights
in a NerDLModel (``NerDLApproach.model_from_result``), then log and register the fitted pipeline with
``sparktag.mlflow.log_model``. Eight JVMs on two cores would measure Spark's start-up, not the tracking
server under concurrent writes.

The workers meet twice in a shared folder: once ready to train, so that all of them log their epochs at the
same time rather than in the order their imports happened to finish, and once trained, so that all of them
log and register their model at the same moment (the registry's race for the next version number).

``benchmarks/bench_backends.py`` builds its tiny pipeline with the same functions (stages, examples, tagger,
fitted_pipeline).

    python concurrent_worker.py --index 3 --parties 8 --experiment-id 1 --model-name ner --bert-dir D \\
        --sample-dir S --barrier-dir B --result out.json   # with MLFLOW_TRACKING_URI set
"""

from __future__ import annotations

import argparse
import gc
import json
import time
from pathlib import Path
from typing import Any


def stages(bert_dir: str) -> list[Any]:
    """The fitted stages before the tagger: text -> document -> sentence -> token -> embeddings."""
    from sparktag.annotator import BertEmbeddings, SentenceDetector
    from sparktag.base import DocumentAssembler
    from sparktag.spark.tokenizer import TokenizerModel

    return [
        DocumentAssembler().setInputCol("text").setOutputCol("document"),
        SentenceDetector().setInputCols(["document"]).setOutputCol("sentence"),
        TokenizerModel().setInputCols(["sentence"]).setOutputCol("token"),
        BertEmbeddings.loadSavedModel(bert_dir).setInputCols("sentence", "token").setOutputCol("embeddings"),
    ]


def examples(conll: Path, limit: int, featurizers: list[Any]) -> list[Any]:
    """The first ``limit`` CoNLL sentences as NerExamples, tokenized and embedded by ``featurizers`` and
    labelled by character span, as ``NerDLApproach.fit`` does with the same stages in a pipeline."""
    import numpy as np

    from sparktag.core.conll import read_conll_documents
    from sparktag.core.conll_rows import document_rows
    from sparktag.core.labels import align_labels
    from sparktag.light import LightPipeline
    from sparktag.ner.data import NerExample

    rows = [row for doc in read_conll_documents(str(conll)) for row in document_rows(doc)][:limit]
    annotated = LightPipeline(featurizers, parse_embeddings=True).fullAnnotate([str(r["text"]) for r in rows])
    out = []
    for row, columns in zip(rows, annotated, strict=True):
        vectors = {e.begin: e.embeddings for e in columns["embeddings"]}
        sentences: dict[str, list[Any]] = {}
        for token in columns["token"]:
            sentences.setdefault(token.metadata.get("sentence", "0"), []).append(token)
        for tokens in sentences.values():
            matrix = np.asarray([vectors[t.begin] for t in tokens], dtype=np.float32)  # (n_tokens, dim)
            tags = align_labels(tokens, row["label"])  # type: ignore[arg-type]
            out.append(NerExample([t.result for t in tokens], matrix, tags))
    return out


def tagger(seed: int, epochs: int) -> Any:
    """The NerDLApproach of every worker: a small network (16 LSTM units) that fits in seconds."""
    from sparktag.annotator import NerDLApproach

    return (
        NerDLApproach()
        .setInputCols(["sentence", "token", "embeddings"])
        .setOutputCol("ner")
        .setMaxEpochs(epochs)
        .setLr(0.01)
        .setBatchSize(16)
        .setLstmHidden(16)
        .setRandomSeed(seed)
        .setVerbose(4)
        .setIncludeConfidence(True)
    )


def fitted_pipeline(featurizers: list[Any], approach: Any, result: Any) -> Any:
    """The PipelineModel ``Pipeline.fit`` would return: the featurizers, the trained tagger, a NerConverter."""
    from pyspark.ml import PipelineModel

    from sparktag.annotator import NerConverter

    ner = approach.model_from_result(result, storage_ref=featurizers[-1].getStorageRef())
    converter = NerConverter().setInputCols(["sentence", "token", "ner"]).setOutputCol("ner_chunk")
    return PipelineModel(stages=[*featurizers, ner, converter])


def meet(folder: Path, name: str, index: int, parties: int, timeout_s: float = 300.0) -> None:
    """Wait until all ``parties`` workers have reached the point ``name`` (one file each in ``folder``)."""
    (folder / f"{name}-{index}").touch()
    deadline = time.monotonic() + timeout_s
    while len(list(folder.glob(f"{name}-*"))) < parties:
        if time.monotonic() > deadline:
            arrived = len(list(folder.glob(f"{name}-*")))
            raise TimeoutError(
                f"worker {index}: {arrived} of {parties} workers reached {name!r} in {timeout_s:.0f} s"
            )
        time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=int, required=True)
    parser.add_argument("--parties", type=int, required=True, help="workers meeting at the barriers")
    parser.add_argument("--experiment-id", required=True)
    parser.add_argument("--model-name", required=True)
    parser.add_argument("--bert-dir", required=True)
    parser.add_argument("--sample-dir", type=Path, required=True)
    parser.add_argument("--barrier-dir", type=Path, required=True)
    parser.add_argument("--result", type=Path, required=True)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--train-sentences", type=int, default=60)
    parser.add_argument("--test-sentences", type=int, default=30)
    args = parser.parse_args()

    import mlflow
    import torch

    import sparktag.mlflow
    from sparktag.ner.metrics import evaluate
    from sparktag.ner.train import train
    from sparktag.tracking.listener import AutologConfig, MlflowListener

    torch.set_num_threads(1)  # eight workers share two cores
    featurizers = stages(args.bert_dir)
    train_set = examples(args.sample_dir / "train.conll", args.train_sentences, featurizers)
    test_set = examples(args.sample_dir / "test.conll", args.test_sentences, featurizers)
    approach = tagger(seed=args.index, epochs=args.epochs)  # eight seeds, eight different metric histories
    pending = args.result.parent / f"pending-{args.index}"
    # No charts: matplotlib would be a third of each worker's CPU time, and test_autolog covers them; the
    # logged model still sends every worker's artifacts through the server's proxy at the same time.
    listener = MlflowListener(approach, AutologConfig(log_charts=False, pending_dir=str(pending)))

    meet(args.barrier_dir, "ready", args.index, args.parties)
    started = time.time()
    with mlflow.start_run(experiment_id=args.experiment_id, run_name=f"worker-{args.index}") as run:
        result = train(
            train_set, approach.train_config(), test=test_set, evaluate=evaluate, listeners=[listener]
        )
        pipeline = fitted_pipeline(featurizers, approach, result)
        meet(args.barrier_dir, "trained", args.index, args.parties)
        info = sparktag.mlflow.log_model(pipeline, "model", registered_model_name=args.model_name)
    args.result.write_text(
        json.dumps(
            {
                "index": args.index,
                "run_id": run.info.run_id,
                "version": info.registered_model_version,
                "metrics": listener.metrics,  # every metric the listener sent: {key, value, step, timestamp}
                "errors": listener.errors,
                "pending_file": listener.pending_file,
                "started": started,
                "finished": time.time(),
            }
        )
    )
    # The interpreter's teardown garbage-collects the whole torch + transformers + MLflow heap, over and over
    # as modules are cleared: ~3 CPU-seconds per worker (measured), a quarter of its work. The result is written
    # and the run ended, so exempt the heap from those collections; the exit stays normal (atexit, flushes).
    gc.freeze()


if __name__ == "__main__":
    main()
