"""Driver job: sparktag's whole workflow, from CoNLL files to MLflow and back. Writes a JSON answer.

python workflow.py CONFIG_JSON

Run with ``SPARK_MASTER=spark://...`` it is a driver of a standalone cluster; with ``SPARK_MASTER=local[2]`` it is
the same workflow in one process, the reference the cluster's answer must equal. CONFIG_JSON names:

* ``train``, ``test``: CoNLL files on shared storage;
* ``private_conll``: a CoNLL file only the driver can read (readDataset must refuse it clearly on a cluster);
* ``bert``, ``vectors``: a BERT folder and a vectors file only the driver can read (stages carry their weights);
* ``shared``: a folder on shared storage for this run (saved pipelines, MLflow artifacts, dfs_tmpdir);
* ``tracking_uri``: the MLflow store (a SQLite file in the driver's folder);
* ``answer``: where to write the JSON answer (tags of every step, measurements).
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

from sparktag.annotation import from_rows


def ner_approach(memory_optimizer: bool) -> Any:
    from sparktag.annotator import NerDLApproach

    return (
        NerDLApproach()
        .setInputCols(["sentence", "token", "embeddings"])
        .setLabelColumn("label")
        .setOutputCol("ner")
        .setMaxEpochs(4)
        .setLr(0.01)
        .setBatchSize(8)
        .setLstmHidden(16)
        .setCharCnnFilters(8)
        .setRandomSeed(7)
        .setVerbose(4)
        .setEnableMemoryOptimizer(memory_optimizer)
    )


def text_stages() -> list[Any]:
    from sparktag.annotator import SentenceDetector, Tokenizer
    from sparktag.base import DocumentAssembler

    return [
        DocumentAssembler().setInputCol("text").setOutputCol("document"),
        SentenceDetector().setInputCols(["document"]).setOutputCol("sentence"),
        Tokenizer().setInputCols(["sentence"]).setOutputCol("token"),
    ]


def tags(df: Any) -> list[list[str]]:
    """Each row's NER tags, in row order (readDataset keeps file order; transforms keep row order)."""
    return [[a.result for a in from_rows(row["ner"])] for row in df.select("ner").collect()]


def timed_tags(df: Any) -> tuple[list[list[str]], float]:
    start = time.perf_counter()
    out = tags(df)
    return out, time.perf_counter() - start


def main() -> None:
    import mlflow
    from pyspark.ml import Pipeline, PipelineModel

    import sparktag.mlflow
    from sparktag.annotator import BertEmbeddings, WordEmbeddings
    from sparktag.spark.conll import CoNLL
    from sparktag.spark.stage import task_function_bytes

    with open(sys.argv[1], encoding="utf-8") as f:
        cfg = json.load(f)
    shared = cfg["shared"]
    answer: dict[str, Any] = {}
    spark = sparktag.start(app_name="sparktag-workflow", config={"spark.sql.shuffle.partitions": "4"})
    spark.sparkContext.setLogLevel("ERROR")
    answer["master"] = spark.sparkContext.master

    train = CoNLL().readDataset(spark, cfg["train"], partitions=4)
    test = CoNLL().readDataset(spark, cfg["test"], partitions=2)
    answer["rows"] = [train.count(), test.count()]
    try:
        CoNLL().readDataset(spark, cfg["private_conll"])
        answer["private_conll"] = "read"
    except Exception as err:  # the job records what the user sees
        answer["private_conll"] = f"{type(err).__name__}: {err}"

    # -- BERT pipeline: weights from a folder only the driver can read -------------------------------------
    bert = BertEmbeddings.loadSavedModel(cfg["bert"]).setInputCols(["sentence", "token"])
    bert = bert.setOutputCol("embeddings").setBatchSize(16)
    model = Pipeline(stages=[*text_stages(), bert, ner_approach(False)]).fit(train)
    scored = model.transform(test)
    answer["task_function_bytes"] = task_function_bytes(scored)
    answer["bert"], answer["first_pass_s"] = timed_tags(scored)
    _, answer["second_pass_s"] = timed_tags(model.transform(test))

    optimized = Pipeline(stages=[*text_stages(), bert, ner_approach(True)]).fit(train)
    answer["bert_memory_optimizer"] = tags(optimized.transform(test))

    saved = os.path.join(shared, "pipeline_bert")
    model.write().overwrite().save(saved)
    answer["bert_reloaded"] = tags(PipelineModel.load(saved).transform(test))

    # -- WordEmbeddings pipeline: vectors from a file only the driver can read --------------------------
    glove = WordEmbeddings().setStoragePath(cfg["vectors"], "TEXT").setInputCols(["sentence", "token"])
    glove = glove.setOutputCol("embeddings")
    word_model = Pipeline(stages=[*text_stages(), glove, ner_approach(True)]).fit(train)
    answer["glove"] = tags(word_model.transform(test))
    saved_glove = os.path.join(shared, "pipeline_glove")
    word_model.write().overwrite().save(saved_glove)
    answer["glove_reloaded"] = tags(PipelineModel.load(saved_glove).transform(test))

    # -- MLflow: a SQLite store in the driver's folder, artifacts on shared storage ----------------------
    mlflow.set_tracking_uri(cfg["tracking_uri"])
    experiment = mlflow.create_experiment(
        "cluster-workflow", artifact_location="file://" + os.path.join(shared, "mlartifacts")
    )
    dfs_tmpdir = os.path.join(shared, "dfs_tmp")  # where Spark writes the model: every node must reach it
    with mlflow.start_run(experiment_id=experiment) as run:
        spark_info = mlflow.spark.log_model(
            model, "spark-model", dfs_tmpdir=dfs_tmpdir, pip_requirements=["pyspark"]
        )
        sparktag_info = sparktag.mlflow.log_model(
            model, "sparktag-model", registered_model_name="cluster_ner", alias="champion"
        )
    answer["run_id"] = run.info.run_id
    # The downloaded copy is what PipelineModel.load reads with the executors: it goes to shared storage.
    downloads = os.path.join(shared, "downloads")
    os.makedirs(os.path.join(downloads, "spark"), exist_ok=True)
    loaded = mlflow.spark.load_model(
        spark_info.model_uri, dfs_tmpdir=dfs_tmpdir, dst_path=os.path.join(downloads, "spark")
    )
    answer["mlflow_spark"] = tags(loaded.transform(test))
    # sparktag.mlflow.load_model reads the download with the driver alone: its temp folder is fine
    loaded = sparktag.mlflow.load_model(sparktag_info.model_uri)
    answer["sparktag_mlflow"] = tags(loaded.transform(test))
    light = sparktag.mlflow.load_model(sparktag_info.model_uri, kind="light")
    texts = [row["text"] for row in test.select("text").collect()]
    answer["sparktag_mlflow_light"] = [[a.result for a in r["ner"]] for r in light.fullAnnotate(texts)]

    # -- MLflow batch scoring: the registered model as a UDF over texts, run by the executors -----------
    texts_df = spark.createDataFrame(list(enumerate(texts)), "id long, text string").repartition(2)
    udf = mlflow.pyfunc.spark_udf(spark, "models:/cluster_ner@champion")
    scored = texts_df.withColumn("prediction", udf("text")).orderBy("id").collect()
    answer["spark_udf_rows"] = [texts_df.count(), len(scored)]
    answer["spark_udf"] = [
        [[e.chunk, e.entity, e.begin, e.end] for e in row.prediction.entities] for row in scored
    ]
    from sparktag.core.ner_converter import ner_converter

    answer["light_chunks"] = [
        [
            [a.result, a.metadata["entity"], a.begin, a.end]
            for a in ner_converter(r["sentence"], r["token"], r["ner"])
        ]
        for r in light.fullAnnotate(texts)
    ]

    with open(cfg["answer"], "w", encoding="utf-8") as f:
        json.dump(answer, f)
    spark.stop()


if __name__ == "__main__":
    main()
