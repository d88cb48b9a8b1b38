"""Spark NLP's "Serialization and Experiment Tracking with MLflow" page, call for call, with sparktag imports.

The page's notebook cell is the contract: the same calls in the same order, only the imports changed (and a
tiny local BERT instead of a downloaded one, and arrays_zip's field names as Spark 4 needs them). Every step's outcome is checked.
"""

from __future__ import annotations

import glob
import os

import pytest

pytestmark = [pytest.mark.spark, pytest.mark.slow]


def test_the_reference_cell_runs_unchanged(spark, sample_dir, sample_bert_dir, tmp_path, monkeypatch):
    import mlflow
    import mlflow.spark
    import pyspark.sql.functions as F  # noqa: N812 - the page's spelling
    from mlflow.tracking import MlflowClient
    from pyspark.ml import Pipeline
    from sklearn.metrics import classification_report

    import sparktag
    from sparktag.annotator import BertEmbeddings, NerDLApproach, NerDLModel, SentenceDetector, Tokenizer
    from sparktag.base import DocumentAssembler
    from sparktag.tracking import ner_image_log_parser
    from sparktag.training import CoNLL

    monkeypatch.chdir(tmp_path)
    before = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path}/mlflow.db")
    try:
        requirements = [f"sparktag=={sparktag.version()}", f"mlflow=={mlflow.__version__}"]
        train_path, test_path = str(sample_dir / "train.conll"), str(sample_dir / "test.conll")
        training_data = CoNLL().readDataset(spark, train_path).limit(120)
        training_size = training_data.count()
        model_name, experiment_name = "ref_ner", "ref_workflow"
        # absolute: Spark resolves relative paths against the JVM's working folder, not the test's
        output_dir = str(tmp_path / f"{model_name}_{experiment_name}_output")
        experiment_id = mlflow.create_experiment(
            f"{model_name}_{experiment_name}", artifact_location=str(tmp_path / "art")
        )

        document = DocumentAssembler().setInputCol("text").setOutputCol("document")
        sentence = SentenceDetector().setInputCols(["document"]).setOutputCol("sentence")
        token = Tokenizer().setInputCols(["sentence"]).setOutputCol("token")
        embeddings = (
            BertEmbeddings.loadSavedModel(str(sample_bert_dir), spark)
            .setInputCols("sentence", "token")
            .setOutputCol("embeddings")
        )
        ner_approach = (
            NerDLApproach()
            .setInputCols(["sentence", "token", "embeddings"])
            .setLabelColumn("label")
            .setOutputCol("ner")
            .setMaxEpochs(6)
            .setLr(0.01)
            .setBatchSize(8)
            .setRandomSeed(0)
            .setVerbose(1)
            .setEnableOutputLogs(True)
            .setIncludeConfidence(True)
            .setIncludeAllConfidenceScores(True)
            .setEvaluationLogExtended(True)
            .setOutputLogsPath(output_dir)
            .setValidationSplit(0.1)
        )
        ner_preprocessing_pipeline = Pipeline(stages=[document, sentence, token, embeddings])
        ner_training_pipeline = Pipeline(stages=ner_preprocessing_pipeline.getStages() + [ner_approach])
        test_data = CoNLL().readDataset(spark, test_path).limit(30)

        with mlflow.start_run(experiment_id=experiment_id) as run:
            run_id = run.info.run_id
            ner_model = ner_training_pipeline.fit(training_data)
            ner_model.stages[-1].write().overwrite().save(f"{output_dir}/model/{model_name}")
            loaded_ner_model = (
                NerDLModel.load(f"{output_dir}/model/{model_name}")
                .setInputCols(["sentence", "token", "embeddings"])
                .setOutputCol("ner")
            )
            ner_prediction_pipeline = Pipeline(
                stages=ner_preprocessing_pipeline.getStages() + [loaded_ner_model]
            )
            prediction_data = spark.createDataFrame([[""]]).toDF("text")
            prediction_model = ner_prediction_pipeline.fit(prediction_data)
            prediction_model.transform(test_data).write.mode("overwrite").parquet(
                f"{output_dir}/inference.parquet"
            )

            predictions = spark.read.parquet(f"{output_dir}/inference.parquet")
            # Spark >= 3.2 names arrays_zip's struct fields after the columns ("result" three times here), so
            # the page's positional keys ('0', '1', '2') need the arrays aliased: the one change to the cell.
            zipped = F.arrays_zip(
                F.col("token.result").alias("0"),
                F.col("label.result").alias("1"),
                F.col("ner.result").alias("2"),
            )
            preds_df = (
                predictions.select(F.explode(zipped).alias("cols"))
                .select(
                    F.expr("cols['0']").alias("token"),
                    F.expr("cols['1']").alias("ground_truth"),
                    F.expr("cols['2']").alias("prediction"),
                )
                .toPandas()
            )
            preds_df = preds_df.fillna(value="O")
            report = classification_report(preds_df["ground_truth"], preds_df["prediction"], output_dict=True)
            with open(f"{output_dir}/classification_report.txt", "w") as f:
                f.write(classification_report(preds_df["ground_truth"], preds_df["prediction"]))

            mlflow.log_param("training_size", training_size)
            mlflow.log_param("max_epochs", 6)
            images = {}
            for file in glob.glob(f"{output_dir}/*.log"):
                images.update(
                    ner_image_log_parser.get_charts(
                        file,
                        img_prec_rec_f1_path=f"{output_dir}/precrecf1.jpg",
                        img_macro_micro_avg_path=f"{output_dir}/macromicroavg.jpg",
                    )
                )
                images.update(ner_image_log_parser.loss_plot(file, img_loss_path=f"{output_dir}/loss.jpg"))
            mlflow.log_artifacts(output_dir)
            mlflow.log_artifact(train_path)
            for k, v in report.items():
                if isinstance(v, dict):
                    for kv, vv in v.items():
                        mlflow.log_metric(f"{k}_{kv}", vv)
                else:
                    mlflow.log_metric(k, v)
            mlflow.spark.log_model(
                ner_model,
                f"{model_name}_{experiment_id}_{run_id}",
                registered_model_name=model_name,
                pip_requirements=requirements,
            )
            input_example = predictions.select("sentence", "token", "embeddings").limit(1).toPandas()
            mlflow.spark.save_model(
                loaded_ner_model, model_name, pip_requirements=requirements, input_example=input_example
            )

        # What each step left behind.
        assert training_size == 120
        assert len(glob.glob(f"{output_dir}/*.log")) == 1
        assert set(images) == {"prec_rec_f1", "macro_micro_avg", "loss"}
        assert all(os.path.getsize(p) > 1000 for p in images.values())
        assert len(preds_df) > 0 and set(preds_df["prediction"]) <= set(ner_model.stages[-1].getClasses())
        client = MlflowClient()
        data = client.get_run(run_id).data
        assert data.params["training_size"] == "120"
        assert "weighted avg_f1-score" in data.metrics
        artifacts = {a.path for a in client.list_artifacts(run_id)}
        assert {
            "classification_report.txt",
            "precrecf1.jpg",
            "loss.jpg",
            "model",
            "inference.parquet",
        } <= artifacts
        (version,) = client.search_model_versions(f"name='{model_name}'")
        reloaded = mlflow.spark.load_model(f"models:/{model_name}/{version.version}")
        assert [s.uid for s in reloaded.stages] == [s.uid for s in ner_model.stages]
        assert os.path.isfile(os.path.join(model_name, "MLmodel"))
    finally:
        mlflow.set_tracking_uri(before)
