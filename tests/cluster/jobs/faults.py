"""Driver job: readDataset and a BERT transform, each run undisturbed and then slowed down so the test can kill a
worker while their tasks run. Writes a JSON answer.

python faults.py DATA_FOLDER BERT_FOLDER MARKERS_FOLDER ANSWER_JSON

The slowed runs' tasks write a marker file (``read-*`` / ``transform-*``, holding the task's working folder,
which names its worker) in MARKERS_FOLDER on shared storage, then sleep, so a kill lands mid-task.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from typing import Any

import sparktag
from sparktag.annotation import from_rows
from sparktag.spark.conll import CoNLL
from sparktag.spark.stage import AnnotateFn, AnnotatorModel

PAUSE_S = 3.0


def mark(folder: str, phase: str) -> None:
    """In a task: tell the test which worker runs it, then give it time to kill that worker."""
    from pyspark import TaskContext

    context = TaskContext.get()
    if context is None:
        return
    # a lost executor's tasks run again as new attempts, or (when its shuffle files or cached blocks are lost
    # too) in a new attempt of their stage, whose attempt numbers count from 0 again: name the attempt by its
    # application-wide id
    task = f"{context.stageId()}-{context.partitionId()}-{context.taskAttemptId()}"
    name = f"{phase}-{task}.json"
    with open(os.path.join(folder, name + ".part"), "w", encoding="utf-8") as f:
        json.dump({"cwd": os.getcwd(), "pid": os.getpid(), "time": time.time()}, f)
    os.replace(os.path.join(folder, name + ".part"), os.path.join(folder, name))
    time.sleep(PAUSE_S)


class SlowCoNLL(CoNLL):
    """CoNLL whose parse (on the executors) marks and pauses once per file."""

    def __init__(self, markers: str) -> None:
        super().__init__()
        self.markers = markers

    def _batches(self, documents: Any) -> Any:
        mark(self.markers, "read")
        yield from super()._batches(documents)


class Marker(AnnotatorModel):
    """A stage fused into the transform's tasks: marks and pauses once per task, annotates nothing."""

    markers = ""

    def _annotator(self) -> AnnotateFn:
        folder = self.markers
        seen: list[bool] = []

        def annotate(columns: list[list[Any]]) -> list[list[Any]]:
            if not seen:
                seen.append(True)
                mark(folder, "transform")
            return [[] for _ in columns[0]]

        return annotate


def rows(df: Any) -> list[list[Any]]:
    return [
        [r["text"], [a.result for a in from_rows(r["label"])]] for r in df.select("text", "label").collect()
    ]


def vectors(df: Any) -> list[str]:
    """One digest per row of its tokens and their vectors: equal digests, equal output."""
    out = []
    for row in df.select("embeddings").collect():
        h = hashlib.sha256()
        for a in from_rows(row["embeddings"]):
            h.update(f"{a.begin}:{a.end}:{a.result}:".encode())
            h.update(b"".join(float(x).hex().encode() for x in a.embeddings))
        out.append(h.hexdigest())
    return out


def main() -> None:
    from pyspark.ml import Pipeline, PipelineModel

    from sparktag.annotator import BertEmbeddings, SentenceDetector, Tokenizer
    from sparktag.base import DocumentAssembler

    data, bert_dir, markers, answer_path = sys.argv[1:5]
    # one task per file, so the read has tasks on both workers
    spark = sparktag.start(
        app_name="sparktag-faults", config={"spark.sql.files.openCostInBytes": str(128 * 2**20)}
    )
    spark.sparkContext.setLogLevel("ERROR")
    bert = (
        BertEmbeddings.loadSavedModel(bert_dir).setInputCols(["sentence", "token"]).setOutputCol("embeddings")
    )
    stages = [
        DocumentAssembler().setInputCol("text").setOutputCol("document"),
        SentenceDetector().setInputCols(["document"]).setOutputCol("sentence"),
        Tokenizer().setInputCols(["sentence"]).setOutputCol("token"),
        bert,
    ]
    marker = Marker().setInputCols(["token"]).setOutputCol("marker")
    marker.markers = markers

    answer: dict[str, Any] = {}
    reference = CoNLL().readDataset(spark, data, partitions=4)
    answer["read_reference"] = rows(reference)
    fitted = Pipeline(stages=stages).fit(reference).stages
    answer["transform_reference"] = vectors(PipelineModel(stages=fitted).transform(reference))

    read = SlowCoNLL(markers).readDataset(spark, data, partitions=4)
    answer["read_killed"] = rows(read)
    answer["transform_killed"] = vectors(PipelineModel(stages=[*fitted, marker]).transform(read))
    answer["executors"] = spark.sparkContext._jsc.sc().getExecutorMemoryStatus().size() - 1
    with open(answer_path, "w", encoding="utf-8") as f:
        json.dump(answer, f)
    spark.stop()


if __name__ == "__main__":
    main()
