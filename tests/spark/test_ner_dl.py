"""NerDLApproach / NerDLModel inside a real Spark ML Pipeline: training, the log, persistence, parity, errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyspark.ml import Pipeline, PipelineModel

from sparktag.annotation import from_rows
from sparktag.annotator import (
    NerConverter,
    NerDLApproach,
    NerDLModel,
)
from sparktag.base import LightPipeline
from sparktag.ner.metrics import entity_scores
from sparktag.training import CoNLL

from pipelines import bert, gold_and_pred, ner, text_stages

pytestmark = [pytest.mark.spark, pytest.mark.slow]


def preprocessing(bert_dir: str) -> list:
    return [*text_stages(), bert(bert_dir)]


def approach(tmp_path, **params) -> NerDLApproach:
    setup = {
        "maxEpochs": 20,
        "lr": 0.01,
        "batchSize": 8,
        "randomSeed": 7,
        "verbose": 4,
        "enableOutputLogs": True,
        "evaluationLogExtended": True,
        "outputLogsPath": str(tmp_path / "logs"),
        "includeConfidence": True,
    }
    return ner(**{**setup, **params})


@pytest.fixture(scope="module")
def trained(spark, sample_dir, sample_bert_dir, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ner")
    train = CoNLL().readDataset(spark, str(sample_dir / "train.conll")).limit(160).cache()
    stages = preprocessing(str(sample_bert_dir))
    ner = approach(tmp, validationSplit=0.1)
    model = Pipeline(stages=[*stages, ner]).fit(train)
    return model, train, ner, tmp


def test_model_fits_its_training_data(trained):
    model, train, _, _ = trained
    out = model.transform(train)
    gold, pred = gold_and_pred(out)
    scores = entity_scores(gold, pred)
    assert scores.micro_f1 > 0.85, scores.micro_f1  # 90% seen in training, 10% held out
    ner = from_rows(out.first()["ner"])
    assert all(set(a.metadata) == {"word", "sentence", "confidence"} for a in ner)
    assert all(0.0 <= float(a.metadata["confidence"]) <= 1.0 for a in ner)
    assert set(model.stages[-1].getClasses()) >= {"O", "I-PER", "I-LOC", "I-ORG"}


def test_training_log_follows_spark_nlp_format(trained):
    _, _, ner, _ = trained
    lines = Path(ner.log_path()).read_text(encoding="utf-8").split("\n")
    assert lines[0].startswith("Name of the selected graph: ")
    assert lines[1].startswith("Training started - total epochs: 20 - lr: 0.01 - batch size: 8 - labels: ")
    epochs = [line for line in lines if line.startswith("Epoch ") and " started" not in line]
    assert len(epochs) == 20
    assert sum(line.startswith("Quality on validation dataset (10.0%)") for line in lines) == 20
    assert any(line.startswith("Micro-average\t prec: ") for line in lines)


def test_save_load_and_light_pipeline_give_identical_tags(trained, tmp_path, spark):
    model, train, _, _ = trained
    path = str(tmp_path / "ner_model")
    model.stages[-1].write().overwrite().save(path)
    loaded = NerDLModel.load(path).setInputCols(["sentence", "token", "embeddings"]).setOutputCol("ner")
    assert loaded.getClasses() == model.stages[-1].getClasses()
    reloaded = PipelineModel(stages=[*model.stages[:-1], loaded])
    sample = train.limit(40)
    first = [from_rows(r["ner"]) for r in model.transform(sample).collect()]
    second = [from_rows(r["ner"]) for r in reloaded.transform(sample).collect()]
    assert first == second
    texts = [r["text"] for r in sample.collect()]
    light = LightPipeline(model).fullAnnotate(texts)
    assert [row["ner"] for row in light] == first


def test_same_seed_same_model(trained, spark, sample_dir, sample_bert_dir, tmp_path):
    model, train, _, _ = trained
    again = Pipeline(
        stages=[*preprocessing(str(sample_bert_dir)), approach(tmp_path, validationSplit=0.1)]
    ).fit(train)
    assert model.stages[-1]._files == again.stages[-1]._files


def test_ner_converter_on_predictions(trained):
    model, train, _, _ = trained
    converter = NerConverter().setInputCols(["sentence", "token", "ner"]).setOutputCol("entities")
    out = converter.transform(model.transform(train.limit(20)))
    chunks = [a for r in out.collect() for a in from_rows(r["entities"])]
    assert chunks
    assert {a.metadata["entity"] for a in chunks} <= {"PER", "LOC", "ORG", "MISC"}


def test_bad_input_errors(spark, sample_dir, sample_bert_dir, tmp_path):
    train = CoNLL().readDataset(spark, str(sample_dir / "train.conll")).limit(10)
    stages = preprocessing(str(sample_bert_dir))
    with pytest.raises(ValueError, match="labelColumn names column 'tags'"):
        Pipeline(stages=[*stages, approach(tmp_path).setLabelColumn("tags")]).fit(train)
    with pytest.raises(ValueError, match="no labelled sentences"):
        Pipeline(stages=[*stages, approach(tmp_path)]).fit(train.limit(0))


def test_labels_not_in_iob_form_are_refused(spark, sample_dir, sample_bert_dir, tmp_path):
    from pyspark.sql import functions as sf

    train = CoNLL().readDataset(spark, str(sample_dir / "train.conll")).limit(10)
    relabelled = train.withColumn(
        "label",
        sf.transform(
            "label", lambda a: a.withField("result", sf.when(a["result"] == "O", "O").otherwise("PERSON"))
        ),
    )
    with pytest.raises(Exception, match="label 'PERSON' in column 'label' is not an IOB tag"):
        Pipeline(stages=[*preprocessing(str(sample_bert_dir)), approach(tmp_path)]).fit(relabelled)


def test_labels_of_another_text_are_refused(spark, sample_dir, sample_bert_dir, tmp_path):
    """Label spans that line up with no token (here: moved past the end of the text) are an error, not silently
    trained as O."""
    from pyspark.sql import functions as sf

    train = CoNLL().readDataset(spark, str(sample_dir / "train.conll")).limit(10)
    shifted = train.withColumn(
        "label",
        sf.transform(
            "label", lambda a: a.withField("begin", a["begin"] + 10000).withField("end", a["end"] + 10000)
        ),
    )
    with pytest.raises(
        Exception, match=r"label '[BI]-\w+' for '\w+' at characters \d+-\d+ in column 'label' covers no token"
    ):
        Pipeline(stages=[*preprocessing(str(sample_bert_dir)), approach(tmp_path)]).fit(shifted)


def test_embeddings_of_another_dimension_are_refused(trained, tmp_path):
    from sparktag.annotator import WordEmbeddings

    model, train, _, _ = trained
    glove = tmp_path / "tiny.txt"
    glove.write_text("maria 1 2 3\n", encoding="utf-8")
    other = WordEmbeddings().setStoragePath(str(glove), "TEXT").setInputCols("sentence", "token")
    other = other.setOutputCol("embeddings").fit(train.limit(1))
    light = LightPipeline([*model.stages[:3], other, model.stages[-1]])
    with pytest.raises(ValueError, match="dimension 3 but the model was trained with dim 32"):
        light.annotate("Maria Lopez joined Northwind Bank in Lisbon .")


def test_checkpoint_params_reach_the_trainer(tmp_path):
    defaults = NerDLApproach().train_config()
    assert defaults.checkpoint_dir is None and defaults.resume_from_checkpoint is True
    ner = NerDLApproach().setCheckpointPath(str(tmp_path / "ckpt")).setResumeFromCheckpoint(False)
    config = ner.train_config()
    assert config.checkpoint_dir == str(tmp_path / "ckpt") and config.resume_from_checkpoint is False
    assert ner.params_dict()["checkpointPath"] == str(tmp_path / "ckpt")


def test_featurizing_runs_in_the_same_python_worker_as_the_stages_before_it(trained, sample_bert_dir):
    import numpy as np

    from sparktag.spark.ner_features import examples, featurize

    _, train, _, _ = trained
    embedded = Pipeline(stages=preprocessing(str(sample_bert_dir))).fit(train).transform(train)
    cols = ("sentence", "token", "embeddings", "label")
    fused = featurize(embedded, *cols, entities=[], name="fused")
    plan = fused._jdf.queryExecution().executedPlan().toString()
    assert plan.count("MapInArrow") == 1, plan  # the vectors never go back through the JVM
    # any other DataFrame (here a select) is featurised by Python workers of its own, to the same records
    alone = featurize(embedded.select("*"), *cols, entities=[], name="alone")
    assert alone._jdf.queryExecution().executedPlan().toString().count("MapInArrow") == 2
    got, want = examples(fused), examples(alone)
    assert len(got) >= train.count() > 0  # the SentenceDetector splits a few rows in two
    assert [(e.tokens, e.tags) for e in got] == [(e.tokens, e.tags) for e in want]
    assert all(np.array_equal(a.embeddings, b.embeddings) for a, b in zip(got, want, strict=True))
    assert {t for e in got for t in e.tags} >= {"O", "I-PER", "I-LOC"}
