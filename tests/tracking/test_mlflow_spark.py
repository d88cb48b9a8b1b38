"""MLflow's own Spark flavor (``mlflow.spark``) on sparktag models, as Spark NLP's MLflow guide uses it.

What mlflow.spark needs of a model: pyspark's ``MLWritable``/``MLReadable`` (checked before saving), a
``PipelineModel.save`` that works (it wraps a single stage in ``PipelineModel([stage])``), and a last stage
with ``setOutputCol`` (signature inference and its pyfunc rename that column to ``prediction``).
"""

from __future__ import annotations

import os

import pandas as pd
import pytest

pytestmark = [pytest.mark.spark, pytest.mark.slow]

SENTENCE = "Halden Steel agreed to buy a stake in Fennick Motors for 58.27 billion euros ."  # in train.conll


@pytest.fixture(scope="module")
def trained(tiny_pipeline_path, spark, sample_dir, sample_bert_dir, tmp_path_factory):
    """The guide's objects: the fitted training pipeline (up to NerDLModel) and predictions read from parquet."""
    from pyspark.ml import PipelineModel

    tmp = tmp_path_factory.mktemp("mlflow_spark")
    fitted = PipelineModel.load(str(tiny_pipeline_path))
    ner_model = PipelineModel(stages=fitted.stages[:-1])  # DocumentAssembler ... NerDLModel, as in the guide
    train = spark.createDataFrame([(SENTENCE,), ("Estonian Peruvian talks open in Dakar .",)], ["text"])
    ner_model.transform(train).write.mode("overwrite").parquet(str(tmp / "inference.parquet"))
    predictions = spark.read.parquet(str(tmp / "inference.parquet"))
    return ner_model, predictions, tmp


def tags(df, column: str) -> list[list[tuple]]:
    from sparktag.annotation import from_rows

    return [[(a.begin, a.end, a.result) for a in from_rows(r[column])] for r in df.collect()]


def test_log_model_registers_and_loads_back(trained, spark, experiment_id):
    """``mlflow.spark.log_model(ner_model, ..., registered_model_name=..., pip_requirements=...)``."""
    import mlflow
    import mlflow.spark

    import sparktag
    from sparktag.light import LightPipeline

    ner_model, predictions, _ = trained
    pip_requirements = [f"sparktag=={sparktag.version()}", f"mlflow=={mlflow.__version__}"]
    with mlflow.start_run(experiment_id=experiment_id):
        info = mlflow.spark.log_model(
            ner_model, "tiny_ner_model", registered_model_name="tiny_ner", pip_requirements=pip_requirements
        )
    assert info.registered_model_version == 1
    loaded = mlflow.spark.load_model("models:/tiny_ner/1")
    texts = predictions.select("text")
    assert [type(s).__name__ for s in loaded.stages] == [type(s).__name__ for s in ner_model.stages]
    assert tags(loaded.transform(texts), "ner") == tags(predictions, "ner")

    # the Spark MLlib folder mlflow.spark wrote loads without a JVM too
    local = mlflow.artifacts.download_artifacts("models:/tiny_ner/1")
    light = LightPipeline.load(os.path.join(local, "sparkml"))
    first = predictions.first()
    assert [a.result for a in light.fullAnnotate(first["text"])[0]["ner"]] == [
        t[2] for t in tags(predictions, "ner")[0]
    ]

    # mlflow.spark's pyfunc renames the last stage's output to "prediction" and returns its rows
    pyfunc = mlflow.pyfunc.load_model("models:/tiny_ner/1")
    rows = pyfunc.predict(pd.DataFrame({"text": [first["text"]]}))
    assert [r["result"] for r in rows[0]] == [t[2] for t in tags(predictions, "ner")[0]]


def test_save_model_with_the_guides_input_example(trained, spark, tmp_path):
    """The guide's last cell: a NerDLModel loaded from disk, saved with an annotation input example."""
    import mlflow.spark

    from sparktag.annotator import NerDLModel

    ner_model, predictions, tmp = trained
    ner_model.stages[-1].write().overwrite().save(str(tmp / "ner_dl"))
    loaded_ner_model = (
        NerDLModel.load(str(tmp / "ner_dl"))
        .setInputCols(["sentence", "token", "embeddings"])
        .setOutputCol("ner")
    )
    input_example = predictions.select("sentence", "token", "embeddings").limit(1).toPandas()
    path = str(tmp_path / "NER_model")
    mlflow.spark.save_model(loaded_ner_model, path, input_example=input_example)
    assert os.path.exists(os.path.join(path, "sparkml", "stages"))
    assert "input_example.json" in os.listdir(path)
    assert loaded_ner_model.getOutputCol() == "ner"  # MLflow renamed a copy, not the caller's model

    back = mlflow.spark.load_model(path)
    assert [type(s).__name__ for s in back.stages] == ["NerDLModel"]
    # signature inference renamed the saved stage's output to "prediction" (MLflow does so for every model)
    out_col = back.stages[0].getOutputCol()
    assert out_col == "prediction"
    features = predictions.select("sentence", "token", "embeddings")
    assert tags(back.transform(features), out_col) == tags(predictions, "ner")
