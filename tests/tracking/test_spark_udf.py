"""Batch scoring the Spark way: ``mlflow.pyfunc.spark_udf(spark, "models:/NAME@champion")`` over a DataFrame of
texts gives one row per input row, in Spark's Python workers, without a JVM there; ``mlflow.pyfunc.load_model``
and ``mlflow.models.evaluate`` get one prediction per input row too.

:func:`check_spark_udf` holds the whole spark_udf check and takes only ``(spark, model_uri)``, so it runs
unchanged against a standalone cluster whose workers have sparktag installed.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

pytestmark = [pytest.mark.spark, pytest.mark.slow]

MODEL_NAME = "udf_ner"
SENTENCE = "Halden Steel agreed to buy a stake in Fennick Motors for 58.27 billion euros ."  # in train.conll
# distinct texts (a row given another row's entities shows), an empty one, a duplicate far from its twin
TEXTS = [
    SENTENCE,
    "",
    "Dakar",
    "Estonian Peruvian talks open in Dakar .",
    "Maria Lopez joined Northwind Bank in Lisbon.",
    "no entity here at all",
    SENTENCE.replace("Fennick Motors", "Northwind Bank"),
    SENTENCE,
]
# what a user passes to pick the struct's field order; omitted, MLflow infers it from the signature
RESULT_TYPE = "struct<entities: array<struct<chunk: string, entity: string, begin: long, end: long, confidence: double>>>"


def light_entities(model_uri: str, texts: list[str], chunk_col: str = "ner_chunk") -> list[list[tuple]]:
    """(chunk, entity, begin, end, confidence) of every chunk LightPipeline finds, per text, in the driver."""
    from sparktag.mlflow import load_model

    light = load_model(model_uri, kind="light")
    return [
        [
            (a.result, a.metadata["entity"], a.begin, a.end, float(a.metadata["confidence"]))
            for a in row[chunk_col]
        ]
        for row in light.fullAnnotate(texts)
    ]


def struct_entities(entities: list) -> list[tuple]:
    return [(e["chunk"], e["entity"], e["begin"], e["end"], e["confidence"]) for e in entities]


def assert_same_entities(got: list[tuple], want: list[tuple], where: str) -> None:
    # a worker's torch may sum in another order than the driver's: confidences agree to float precision
    assert [g[:4] for g in got] == [w[:4] for w in want], where
    assert [g[4] for g in got] == pytest.approx([w[4] for w in want], rel=1e-5, abs=1e-6), where


def check_spark_udf(spark, model_uri: str) -> None:
    """spark_udf of ``model_uri`` over (id, text) rows spread across 3 partitions, the result type inferred
    from the signature and given explicitly: one output row per input row, in the input's order, each with the
    entities LightPipeline finds in that row's own text (an empty text: an empty array); exploding the arrays
    gives one row per entity."""
    import mlflow
    import pyspark.sql.functions as F  # noqa: N812 - pyspark's usual spelling
    from pyspark.sql.types import ArrayType, StructType

    want = light_entities(model_uri, TEXTS)
    assert any(want), "the model finds no entity in any text: the comparison below would prove little"
    ids = [100 + 7 * i for i in range(len(TEXTS))]  # not positions: a row matched by position would show
    text_of = dict(zip(ids, TEXTS, strict=True))
    want_of = dict(zip(ids, want, strict=True))
    df = (
        spark.createDataFrame(list(zip(ids, TEXTS, strict=True)), "id long, text string")
        .repartition(3)
        .cache()
    )
    try:
        input_order = [r.id for r in df.collect()]
        assert df.rdd.getNumPartitions() == 3
        for result_type in (None, RESULT_TYPE):
            udf = mlflow.pyfunc.spark_udf(spark, model_uri, result_type=result_type)
            scored = df.withColumn("prediction", udf("text"))
            prediction_type = scored.schema["prediction"].dataType
            assert isinstance(prediction_type, StructType) and prediction_type.names == ["entities"]
            element = prediction_type["entities"].dataType
            assert isinstance(element, ArrayType) and isinstance(element.elementType, StructType)
            fields = element.elementType.names
            if result_type is None:  # MLflow's Object sorts its properties by name
                assert fields == ["begin", "chunk", "confidence", "end", "entity"]
            else:
                assert fields == ["chunk", "entity", "begin", "end", "confidence"]
            rows = scored.collect()
            assert len(rows) == len(TEXTS)
            assert [r.id for r in rows] == input_order  # same rows, same order
            for row in rows:
                assert row.text == text_of[row.id]
                got = struct_entities(row.prediction.entities)
                assert_same_entities(got, want_of[row.id], f"row {row.id}: {row.text!r}")
                for chunk, _, begin, end, _ in got:
                    assert row.text[begin : end + 1] == chunk  # offsets into this row's own text
                if row.text == "":
                    assert row.prediction.entities == []
            exploded = scored.select("id", F.explode("prediction.entities").alias("e")).select("id", "e.*")
            assert exploded.count() == sum(len(w) for w in want)
    finally:
        df.unpersist()


@pytest.fixture(scope="module")
def registered(tiny_pipeline_path, spark, tmp_path_factory):
    """The tiny pipeline logged with sparktag.mlflow.log_model into a SQLite store, registered as
    udf_ner@champion; the store stays the tracking URI while the module runs."""
    import mlflow
    from pyspark.ml import PipelineModel

    from sparktag.mlflow import log_model

    tmp = tmp_path_factory.mktemp("spark_udf")
    before = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(f"sqlite:///{tmp}/mlflow.db")
    try:
        experiment_id = mlflow.create_experiment("udf", artifact_location=(tmp / "artifacts").as_uri())
        with mlflow.start_run(experiment_id=experiment_id):
            model = PipelineModel.load(str(tiny_pipeline_path))
            log_model(model, "model", registered_model_name=MODEL_NAME, alias="champion")
        yield SimpleNamespace(uri=f"models:/{MODEL_NAME}@champion", experiment_id=experiment_id)
    finally:
        mlflow.set_tracking_uri(before)


def test_spark_udf_gives_each_row_its_entities(spark, registered):
    check_spark_udf(spark, registered.uri)


def test_flat_output_inside_spark_is_refused_with_what_to_do(spark, registered):
    import mlflow

    udf = mlflow.pyfunc.spark_udf(spark, registered.uri, params={"output": "flat"})
    df = spark.createDataFrame([(1, SENTENCE)], "id long, text string")
    with pytest.raises(Exception, match="inside Spark") as caught:
        df.withColumn("prediction", udf("text")).collect()
    assert "explode the entities column" in str(caught.value)


# Put on the PYTHONPATH of one Spark worker factory, this runs first in its daemon (and so in every worker the
# daemon forks): any way from Python to a JVM (launching Spark's gateway, constructing a SparkContext, opening
# a py4j gateway to a running JVM) is written to the log and refused.
JVM_TRAP = """
import os

def _arm():
    import importlib

    import py4j.clientserver
    import py4j.java_gateway
    import pyspark
    import pyspark.java_gateway

    context = importlib.import_module(pyspark.SparkContext.__module__)  # 3.5: pyspark.context; 4.x: .core.

    log = os.environ["SPARKTAG_JVM_TRAP_LOG"]

    def trap(name):
        def called(*args, **kwargs):
            with open(log, "a", encoding="utf-8") as f:
                f.write(f"{os.getpid()} {name}\\n")
            raise AssertionError(f"a Spark Python worker called {name}")
        return called

    pyspark.java_gateway.launch_gateway = trap("launch_gateway")
    context.launch_gateway = trap("launch_gateway")
    context.SparkContext.__init__ = trap("SparkContext()")
    py4j.java_gateway.JavaGateway.__init__ = trap("JavaGateway()")
    py4j.clientserver.ClientServer.__init__ = trap("ClientServer()")
    pyspark.java_gateway.sparktag_jvm_trap = True

if os.environ.get("SPARKTAG_JVM_TRAP_LOG"):
    _arm()
"""


def test_spark_udf_workers_run_the_model_without_a_jvm(spark, registered, tmp_path):
    """The UDF's Python workers start with every route to a JVM trapped; the model loads and tags there, nothing
    trips a trap, and afterwards the workers that loaded sparktag's pyfunc hold no gateway, SparkContext or
    SparkSession and have no java process below them."""
    import mlflow
    from pyspark.sql.functions import pandas_udf

    probe_dir = tmp_path / "probe"
    probe_dir.mkdir()
    (probe_dir / "sitecustomize.py").write_text(JVM_TRAP, encoding="utf-8")
    log = tmp_path / "jvm_calls.log"
    log.touch()

    def worker_state(ids: pd.Series) -> pd.Series:
        """What this Python worker holds (runs in the worker: no module-level names of this file here)."""
        import json
        import os
        import sys

        import pyspark.java_gateway
        from pyspark import SparkContext
        from pyspark.sql import SparkSession

        def java_below(pid: int) -> list[str]:
            found, todo = [], [pid]
            while todo:
                parent = todo.pop()
                for entry in os.listdir("/proc"):
                    try:
                        with open(f"/proc/{entry}/stat", encoding="utf-8") as f:
                            if int(f.read().rsplit(")", 1)[1].split()[1]) != parent:
                                continue
                        with open(f"/proc/{entry}/cmdline", "rb") as f:
                            command = f.read().replace(b"\0", b" ").decode(errors="replace")
                    except (OSError, ValueError, IndexError):
                        continue
                    todo.append(int(entry))
                    if "java" in command.split(" ", 1)[0] or "spark-submit" in command:
                        found.append(command)
            return found

        state = {
            "pid": os.getpid(),
            "trapped": getattr(pyspark.java_gateway, "sparktag_jvm_trap", False),
            "loaded_pyfunc": "sparktag.tracking.flavor" in sys.modules and "sparktag.light" in sys.modules,
            "gateway": SparkContext._gateway is not None or SparkContext._jvm is not None,
            "spark_context": SparkContext._active_spark_context is not None,
            "spark_session": SparkSession._instantiatedSession is not None,
            "java_below": java_below(os.getpid()),
        }
        return pd.Series([json.dumps(state)] * len(ids))

    environment = spark.sparkContext.environment
    saved = dict(environment)
    # A UDF takes the environment current when it is built: these give this test's UDFs their own worker
    # daemon (Spark keys daemons by environment), started with the trap on its PYTHONPATH.
    environment["PYTHONPATH"] = ":".join(p for p in (str(probe_dir), saved.get("PYTHONPATH")) if p)
    environment["SPARKTAG_JVM_TRAP_LOG"] = str(log)
    try:
        udf = mlflow.pyfunc.spark_udf(spark, registered.uri)
        df = spark.createDataFrame(list(enumerate(TEXTS)), "id long, text string").repartition(2)
        rows = df.withColumn("prediction", udf("text")).collect()
        probe = pandas_udf(worker_state, "string")
        states = [json.loads(r[0]) for r in spark.range(0, 8, numPartitions=4).select(probe("id")).collect()]
    finally:
        environment.clear()
        environment.update(saved)

    want = light_entities(registered.uri, TEXTS)
    for row in rows:
        assert_same_entities(struct_entities(row.prediction.entities), want[row.id], row.text)
    assert log.read_text() == "", "a UDF worker tried to reach a JVM"
    workers = {s["pid"]: s for s in states}
    assert all(s["trapped"] for s in workers.values()), workers  # the probe ran where the trap was armed
    loaded = [s for s in workers.values() if s["loaded_pyfunc"]]
    assert loaded, f"no probed worker had loaded the model: {workers}"
    for state in loaded:
        assert not (state["gateway"] or state["spark_context"] or state["spark_session"]), state
        assert state["java_below"] == [], state


def conll_sentences(path: Path, count: int) -> list[tuple[str, list[tuple[str, str]]]]:
    """(text, gold (chunk, entity) list) of the first ``count`` sentences of a CoNLL file (tokens joined by
    spaces, as CoNLL().readDataset does)."""
    from sparktag.core.chunks import tags_to_chunks
    from sparktag.core.conll import read_conll_documents

    out = []
    for document in read_conll_documents(str(path)):
        for sentence in document.sentences:
            words = [t.text for t in sentence.tokens]
            gold = [
                (" ".join(words[c.start : c.end + 1]), c.entity)
                for c in tags_to_chunks([t.label for t in sentence.tokens])
            ]
            out.append((" ".join(words), gold))
            if len(out) == count:
                return out
    return out


def entity_f1(predictions: list[list[dict]], gold: list[list[tuple[str, str]]]) -> float:
    """Micro F1 of (row, chunk, entity) triples: a prediction counts only in its own row."""
    found = {(i, e["chunk"], e["entity"]) for i, entities in enumerate(predictions) for e in entities}
    truth = {(i, chunk, entity) for i, entities in enumerate(gold) for chunk, entity in entities}
    if not found or not truth:
        return 0.0
    hits = len(found & truth)
    return 2 * hits / (len(found) + len(truth))


def test_load_model_and_evaluate_give_one_prediction_per_row(registered, sample_dir):
    import mlflow
    from mlflow.metrics import MetricValue, make_metric

    sentences = conll_sentences(sample_dir / "train.conll", 12)
    texts = [text for text, _ in sentences] + [""]
    gold = [entities for _, entities in sentences] + [[]]
    # text first: the signature's input column is unnamed, so MLflow hands the model the first column only
    frame = pd.DataFrame({"text": texts, "id": range(len(texts))})

    model = mlflow.pyfunc.load_model(registered.uri)
    out = model.predict(frame)
    assert list(out.columns) == ["entities"] and len(out) == len(frame)
    want = light_entities(registered.uri, texts)
    for i, entities in enumerate(out["entities"]):
        assert_same_entities(struct_entities(entities), want[i], texts[i])
    assert out["entities"].iloc[-1] == []
    direct_f1 = entity_f1(list(out["entities"]), gold)
    assert direct_f1 > 0.3, f"the tiny model should find entities of sentences it was trained on: {direct_f1}"

    flat = model.predict(frame, params={"output": "flat"})
    assert [tuple(r) for r in flat.itertuples(index=False)] == [
        (i, *entity)
        for i, entities in enumerate(struct_entities(e) for e in out["entities"])
        for entity in entities
    ]
    with pytest.raises(mlflow.exceptions.MlflowException, match="'output': 'rows'.* is not an output layout"):
        model.predict(frame, params={"output": "rows"})

    def score(predictions: pd.Series, targets: pd.Series, metrics: dict) -> MetricValue:
        # evaluate tries each metric on the first row, then on all of them
        assert len(predictions) == len(targets)
        return MetricValue(aggregate_results={"f1": entity_f1(list(predictions), list(targets))})

    data = frame.assign(gold=gold)
    with mlflow.start_run(experiment_id=registered.experiment_id) as run:
        result = mlflow.models.evaluate(
            registered.uri,
            data=data,
            targets="gold",
            model_type=None,
            extra_metrics=[make_metric(eval_fn=score, greater_is_better=True, name="entity")],
        )
    assert result.metrics["entity/f1"] == pytest.approx(direct_f1)
    logged = mlflow.MlflowClient().get_run(run.info.run_id).data.metrics
    assert logged["entity/f1"] == pytest.approx(direct_f1)
