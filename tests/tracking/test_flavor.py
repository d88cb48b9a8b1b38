"""The sparktag MLflow flavor: save/log/register/alias/load, the pyfunc's contract, and no JVM when serving."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap

import pandas as pd
import pytest

pytestmark = [pytest.mark.spark, pytest.mark.slow]

SENTENCE = "Halden Steel agreed to buy a stake in Fennick Motors for 58.27 billion euros ."  # in train.conll
TEXTS = [SENTENCE, "", "Dakar", "Estonian Peruvian talks open in Dakar ."]


@pytest.fixture(scope="module")
def fitted(tiny_pipeline_path):
    """The tiny pipeline as a Spark PipelineModel, for the whole module."""
    from pyspark.ml import PipelineModel

    return PipelineModel.load(str(tiny_pipeline_path))


@pytest.fixture(scope="module")
def reference(fitted, spark) -> dict[str, list[tuple]]:
    """What the Spark pipeline's NerConverter finds in each of TEXTS: (chunk, entity, begin, end) lists."""
    found = spark_entities(fitted, spark, TEXTS)
    return {text: [c[1:] for c in found if c[0] == i] for i, text in enumerate(TEXTS)}


def expected(reference: dict[str, list[tuple]], texts: list[str]) -> list[tuple]:
    return [(i, *c) for i, text in enumerate(texts) for c in reference[text]]


def spark_entities(model, spark, texts: list[str]) -> list[tuple]:
    """(text_index, chunk, entity, begin, end) per chunk the Spark pipeline's NerConverter makes."""
    from sparktag.annotation import from_rows

    df = spark.createDataFrame([(i, t) for i, t in enumerate(texts)], ["i", "text"])
    out = []
    for row in model.transform(df).orderBy("i").collect():
        out += [
            (row["i"], a.result, a.metadata["entity"], a.begin, a.end) for a in from_rows(row["ner_chunk"])
        ]
    return out


def table_entities(frame: pd.DataFrame) -> list[tuple]:
    """(text_index, chunk, entity, begin, end) of each row of the flat output (one row per entity)."""
    return [
        tuple(r) for r in frame[["text_index", "chunk", "entity", "begin", "end"]].itertuples(index=False)
    ]


def nested_entities(frame: pd.DataFrame) -> list[tuple]:
    """(text_index, chunk, entity, begin, end) of each entity of the default output (one row per text)."""
    return [
        (i, e["chunk"], e["entity"], e["begin"], e["end"])
        for i, entities in enumerate(frame["entities"])
        for e in entities
    ]


def test_save_writes_mlflow_model_and_loads_both_ways(fitted, reference, tmp_path):
    from pyspark.ml import PipelineModel

    import sparktag.mlflow
    from sparktag.light import LightPipeline
    from sparktag.mlflow import load_model, save_model

    model = fitted
    path = tmp_path / "model"
    save_model(model, str(path))
    mlmodel = (path / "MLmodel").read_text()
    assert "sparktag:" in mlmodel and "loader_module: sparktag.tracking.flavor" in mlmodel
    reqs = (path / "requirements.txt").read_text().split("\n")
    # sparktag travels as a wheel inside the model (tests/tracking/test_model_env.py installs it)
    assert reqs[0].startswith("wheels/sparktag-" + __import__("sparktag").__version__ + "-"), reqs
    assert (path / reqs[0]).is_file()
    assert any(r.startswith("torch==") and "+" not in r for r in reqs)
    assert any(r.startswith("pyspark==") for r in reqs) and any(r.startswith("mlflow==") for r in reqs)
    example = json.loads((path / "input_example.json").read_text())
    assert example["data"] == [["Maria Lopez joined Northwind Bank in Lisbon."]]

    spark_model = load_model(str(path), kind="pipeline")
    assert isinstance(spark_model, PipelineModel)
    assert [s.uid for s in spark_model.stages] == [s.uid for s in model.stages]
    light = load_model(str(path), kind="light")
    assert isinstance(light, LightPipeline)
    assert light.annotate(SENTENCE)["ner_chunk"] == [c[0] for c in reference[SENTENCE]]
    with pytest.raises(ValueError, match="kind must be"):
        sparktag.mlflow.load_model(str(path), kind="spark")


def test_log_register_alias_and_load_by_every_uri(fitted, reference, spark, experiment_id):
    import mlflow
    from mlflow import MlflowClient

    from sparktag.mlflow import load_model, log_model, set_alias

    model = fitted
    with mlflow.start_run(experiment_id=experiment_id) as run:
        info = log_model(model, "ner_model", registered_model_name="tiny_ner", alias="champion")
        second = log_model(model, name="ner_again", registered_model_name="tiny_ner")
    assert info.registered_model_version == 1 and second.registered_model_version == 2
    client = MlflowClient()
    assert str(client.get_model_version_by_alias("tiny_ner", "champion").version) == "1"
    set_alias("tiny_ner", "champion", second.registered_model_version)
    assert str(client.get_model_version_by_alias("tiny_ner", "champion").version) == "2"

    want = expected(reference, [SENTENCE])
    assert want, "the tiny model finds no entity in a sentence it was trained on"
    uris = [
        f"runs:/{run.info.run_id}/ner_model",
        "models:/tiny_ner/1",
        "models:/tiny_ner@champion",
        info.model_uri,
    ]
    for uri in uris:
        light = load_model(uri, kind="light")
        assert light.annotate(SENTENCE)["ner_chunk"] == [c[1] for c in want], uri
    assert spark_entities(load_model("models:/tiny_ner@champion"), spark, [SENTENCE]) == want

    pyfunc = mlflow.pyfunc.load_model("models:/tiny_ner@champion")
    assert nested_entities(pyfunc.predict(pd.DataFrame({"text": [SENTENCE]}))) == want
    assert nested_entities(pyfunc.predict([SENTENCE])) == want  # what {"inputs": [...]} becomes
    assert table_entities(pyfunc.predict([SENTENCE], params={"output": "flat"})) == want
    with pytest.raises(ValueError, match="alias='x' needs registered_model_name"):
        log_model(model, "m", alias="x")


def test_pyfunc_contract(fitted, reference, tmp_path):
    from mlflow.exceptions import MlflowException

    from sparktag.tracking.flavor import _load_pyfunc, save_model
    from sparktag.tracking.signature import ENTITY_FIELDS, FLAT_COLUMNS, OUTPUT_COLUMNS, default_signature

    model = fitted
    save_model(model, str(tmp_path / "model"))
    pyfunc = _load_pyfunc(str(tmp_path / "model" / "pipeline"))
    texts = [*TEXTS, SENTENCE]
    frame = pd.DataFrame({"id": range(len(texts)), "text": texts})

    # default: one row per text, in input order, its entities as a list of dicts
    out = pyfunc.predict(frame)
    assert tuple(out.columns) == OUTPUT_COLUMNS == ("entities",) and len(out) == len(texts)
    assert nested_entities(out) == expected(reference, texts)
    assert out["entities"][1] == []  # the empty text
    for text, entities in zip(texts, out["entities"], strict=True):
        for entity in entities:
            assert tuple(entity) == ENTITY_FIELDS
            assert type(entity["begin"]) is int and type(entity["end"]) is int
            assert 0.0 <= entity["confidence"] <= 1.0  # includeConfidence was on
            assert text[entity["begin"] : entity["end"] + 1] == entity["chunk"]
    assert pyfunc.predict(SENTENCE)["entities"][0] == out["entities"][0]
    assert pyfunc.predict(frame, params={"output": "nested"}).equals(out)

    # output="flat": one row per entity, text_index naming its input row
    flat = pyfunc.predict(frame, params={"output": "flat"})
    assert tuple(flat.columns) == FLAT_COLUMNS
    assert table_entities(flat) == expected(reference, texts)
    assert str(flat["text_index"].dtype) == "int64" and str(flat["begin"].dtype) == "int64"
    assert list(flat["confidence"]) == [e["confidence"] for row in out["entities"] for e in row]

    empty = pd.DataFrame({"text": pd.Series([], dtype=object)})
    assert tuple(pyfunc.predict(empty).columns) == OUTPUT_COLUMNS and len(pyfunc.predict(empty)) == 0
    assert tuple(pyfunc.predict(empty, params={"output": "flat"}).columns) == FLAT_COLUMNS
    assert len(pyfunc.predict([])) == 0
    with pytest.raises(MlflowException, match=r"no 'text' column \(columns: \['txt'\]\)"):
        pyfunc.predict(pd.DataFrame({"txt": ["a"]}))
    with pytest.raises(MlflowException, match="row 1 of 'text' is int"):
        pyfunc.predict(pd.DataFrame({"text": ["a", 5]}))
    with pytest.raises(
        MlflowException, match=r"""\{'output': 'table'\} is not an output layout; use "nested"""
    ):
        pyfunc.predict(frame, params={"output": "table"})

    # the signature says so: an object with the entities array per row, the output param with its default
    signature = default_signature().to_dict()
    assert json.loads(signature["params"]) == [
        {"name": "output", "default": "nested", "shape": None, "type": "string"}
    ]
    (output,) = json.loads(signature["outputs"])
    items = output["properties"]["entities"]["items"]
    assert output["type"] == "object" and items["type"] == "object"
    assert {name: spec["type"] for name, spec in items["properties"].items()} == {
        "chunk": "string", "entity": "string", "begin": "long", "end": "long", "confidence": "double"
    }  # fmt: skip
    assert items["properties"]["confidence"]["required"] is False


def test_pyfunc_serves_bfloat16_only_when_asked(fitted, tmp_path, monkeypatch):
    """SPARKTAG_ENCODER_PRECISION switches the served encoder's precision; unset keeps the saved float32."""
    from sparktag.tracking.flavor import _load_pyfunc, save_model
    from sparktag.tracking.pyfunc_model import PRECISION_ENV
    from sparktag.tracking.signature import OUTPUT_COLUMNS

    save_model(fitted, str(tmp_path / "model"))
    pipeline = str(tmp_path / "model" / "pipeline")

    def precisions(pyfunc) -> list[str]:
        return [s.getPrecision() for s in pyfunc.get_raw_model().stages if s.hasParam("precision")]

    monkeypatch.delenv(PRECISION_ENV, raising=False)
    assert precisions(_load_pyfunc(pipeline)) == ["float32"]
    monkeypatch.setenv(PRECISION_ENV, "bfloat16")
    fast = _load_pyfunc(pipeline)
    assert precisions(fast) == ["bfloat16"]
    out = fast.predict(TEXTS)
    assert tuple(out.columns) == OUTPUT_COLUMNS and len(out) == len(TEXTS)
    for i, chunk, _, begin, end in nested_entities(out):
        assert TEXTS[i][begin : end + 1] == chunk
    monkeypatch.setenv(PRECISION_ENV, "float16")
    with pytest.raises(ValueError, match=f"{PRECISION_ENV}='float16' is not a precision"):
        _load_pyfunc(pipeline)


def test_pyfunc_without_converter_chunks_the_tags(fitted, reference, tmp_path):
    """A pipeline ending at NerDLModel: the pyfunc makes chunks the way NerConverter would."""
    from sparktag.tracking.flavor import _load_pyfunc, save_model

    model = fitted
    save_model(model.stages[:-1], str(tmp_path / "model"))
    pyfunc = _load_pyfunc(str(tmp_path / "model" / "pipeline"))
    out = pyfunc.predict(TEXTS)
    assert nested_entities(out) == expected(reference, TEXTS)
    assert all(e["confidence"] is not None for row in out["entities"] for e in row)
    flat = pyfunc.predict(TEXTS, params={"output": "flat"})
    assert table_entities(flat) == expected(reference, TEXTS) and flat["confidence"].notna().all()


def test_save_errors(fitted, tmp_path, caplog):
    from pyspark.ml import Pipeline

    from sparktag.mlflow import save_model

    model = fitted
    with pytest.raises(TypeError, match="is not fitted"):
        save_model(Pipeline(stages=list(model.stages)), str(tmp_path / "a"))
    save_model(model.stages[-2], str(tmp_path / "b"))  # NerDLModel alone: saved, but cannot run on text
    assert "python_function" not in (tmp_path / "b" / "MLmodel").read_text()
    assert "reads ['sentence', 'token', 'embeddings']" in caplog.text


def test_fresh_process_pyfunc_starts_no_jvm(fitted, reference, tmp_path):
    """A new interpreter loads the model via mlflow.pyfunc with Spark's gateway launcher booby-trapped, and
    without importing transformers."""
    from sparktag.mlflow import save_model

    model = fitted
    save_model(model, str(tmp_path / "model"))
    texts = TEXTS
    script = textwrap.dedent(
        f"""
        import importlib, json, sys
        import pyspark, pyspark.java_gateway

        def no_jvm(*args, **kwargs):
            raise AssertionError("the pyfunc tried to launch a JVM")

        # SparkContext's module: pyspark.context in 3.5, pyspark.core.context from 4.0
        pyspark.java_gateway.launch_gateway = no_jvm
        importlib.import_module(pyspark.SparkContext.__module__).launch_gateway = no_jvm
        import mlflow.pyfunc

        model = mlflow.pyfunc.load_model({str(tmp_path / "model")!r})
        out = model.predict({texts!r})
        from pyspark import SparkContext
        assert SparkContext._gateway is None and SparkContext._active_spark_context is None
        # a BERT pipeline serves on sparktag's own BERT: transformers' import alone took seconds of cold start
        assert "transformers" not in sys.modules, "the pyfunc imported transformers"
        print(json.dumps(out.to_dict(orient="records")))
        """
    )
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    records = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(records) == len(texts)  # one row per text
    got = [
        (i, e["chunk"], e["entity"], e["begin"], e["end"])
        for i, r in enumerate(records)
        for e in r["entities"]
    ]
    assert got == expected(reference, texts)
    assert all(not math.isnan(e["confidence"]) for r in records for e in r["entities"])


def test_a_casing_model_tags_alike_in_spark_after_loading_in_light_and_as_pyfunc(
    spark, sample_dir, sample_bert_dir, tmp_path
):
    """NerDLApproach with casingDim: the fitted PipelineModel, the same saved and loaded, its LightPipeline and
    its MLflow pyfunc give the same tags (confidences included) and entities."""
    import mlflow.pyfunc
    from pyspark.ml import Pipeline, PipelineModel

    from sparktag.annotation import from_rows
    from sparktag.base import LightPipeline
    from sparktag.mlflow import save_model
    from sparktag.training import CoNLL

    from pipelines import ner_stages

    train = CoNLL().readDataset(spark, str(sample_dir / "train.conll")).limit(60)
    stages = ner_stages(
        sample_bert_dir, maxEpochs=6, lr=0.01, batchSize=16, randomSeed=7, verbose=4, includeConfidence=True,
        casingDim=5,
    )  # fmt: skip
    fitted = Pipeline(stages=stages).fit(train)
    config = json.loads(fitted.stages[-2]._to_files()["config.json"])
    assert config["model"]["casing_dim"] == 5
    fitted.write().save(str(tmp_path / "pipeline"))
    loaded = PipelineModel.load(str(tmp_path / "pipeline"))

    texts = [*TEXTS, "HALDEN STEEL agreed to buy a stake in fennick motors ."]  # cased otherwise
    frame = spark.createDataFrame([(i, t) for i, t in enumerate(texts)], ["i", "text"])
    on_spark = [from_rows(r["ner"]) for r in fitted.transform(frame).orderBy("i").collect()]
    assert [from_rows(r["ner"]) for r in loaded.transform(frame).orderBy("i").collect()] == on_spark
    assert any(a.result != "O" for row in on_spark for a in row)  # it tags entities: equal means something
    assert all("confidence" in a.metadata for row in on_spark for a in row)
    for light in (LightPipeline(loaded), LightPipeline.load(str(tmp_path / "pipeline"))):
        assert [row["ner"] for row in light.fullAnnotate(texts)] == on_spark

    save_model(loaded, str(tmp_path / "model"))
    out = mlflow.pyfunc.load_model(str(tmp_path / "model")).predict(texts)
    found = spark_entities(loaded, spark, texts)
    assert found and nested_entities(out) == found


def test_pipeline_on_concatenated_layers_trains_saves_and_serves(
    spark, sample_dir, sample_bert_dir, tmp_path
):
    """BertEmbeddings(layers=[-1, -2], layerPooling="concat") gives the tagger two layers side by side (the
    tiny BERT's one layer and its embedding output, 2 * 32 features): the tagger fits its training data, and
    the flavor's pyfunc, loaded back by MLflow, finds the Spark pipeline's entities."""
    import mlflow
    from pyspark.ml import Pipeline

    from sparktag.mlflow import load_model, save_model
    from sparktag.ner.metrics import entity_scores
    from sparktag.training import CoNLL

    from pipelines import bert, chunks, gold_and_pred, ner, text_stages

    train = CoNLL().readDataset(spark, str(sample_dir / "train.conll")).limit(60).cache()
    embeddings = bert(sample_bert_dir, layers=[-1, -2], layerPooling="concat")
    approach = ner(maxEpochs=25, lr=0.01, batchSize=8, randomSeed=7, includeConfidence=True)
    model = Pipeline(stages=[*text_stages(), embeddings, approach, chunks()]).fit(train)
    assert model.stages[3].getDimension() == 64

    gold, pred = gold_and_pred(model.transform(train))
    assert entity_scores(gold, pred).micro_f1 > 0.8  # it learned from the concatenated vectors

    save_model(model, str(tmp_path / "model"))
    pyfunc = mlflow.pyfunc.load_model(str(tmp_path / "model"))
    (served,) = [s for s in load_model(str(tmp_path / "model"), kind="light").stages if s.hasParam("layers")]
    assert (served.getLayers(), served.getLayerPooling(), served.getDimension()) == ([-1, -2], "concat", 64)
    texts = [SENTENCE, *(r["text"] for r in train.limit(12).collect())]
    want = spark_entities(model, spark, texts)
    assert want and nested_entities(pyfunc.predict(texts)) == want
    train.unpersist()
