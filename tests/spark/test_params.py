"""Params declared once (sparktag.spark.params): each row gives the Param, default, check, getter, setter and
setParams entry; NerDLApproach's trainer params take their defaults from TrainConfig."""

from __future__ import annotations

from dataclasses import fields, replace

import pytest
from pyspark.ml.param import TypeConverters

from sparktag.ner.config import TrainConfig
from sparktag.spark.bert_embeddings import BertEmbeddings
from sparktag.spark.document_assembler import DocumentAssembler
from sparktag.spark.finisher import EmbeddingsFinisher, Finisher
from sparktag.spark.ner_converter import NerConverter
from sparktag.spark.ner_dl import NerDLApproach, NerDLModel
from sparktag.spark.params import ParamSpec, field_param
from sparktag.spark.sentence_detector import SentenceDetector
from sparktag.spark.tokenizer import Tokenizer, TokenizerModel
from sparktag.spark.word_embeddings import WordEmbeddings, WordEmbeddingsModel

STAGES = [
    DocumentAssembler,
    SentenceDetector,
    Tokenizer,
    TokenizerModel,
    BertEmbeddings,
    WordEmbeddings,
    WordEmbeddingsModel,
    NerDLApproach,
    NerDLModel,
    NerConverter,
    Finisher,
    EmbeddingsFinisher,
]


def _suffix(name: str) -> str:
    return name[0].upper() + name[1:]


def test_every_trainer_param_defaults_to_the_trainers_default():
    approach = NerDLApproach()
    specs = {name: s for name, s in approach.param_specs().items() if s.field is not None}
    trainer = {f.name: f.default for f in fields(TrainConfig)}
    assert {s.field for s in specs.values()} <= set(trainer)
    for name, spec in specs.items():
        if not approach.hasDefault(name):  # randomSeed: unset means the trainer's None (a drawn seed)
            assert trainer[spec.field] is None, name
            continue
        expected = 1 if name == "verbose" else trainer[spec.field]  # Spark NLP's verbose 2: a line an epoch
        assert spec.to_field(approach.getOrDefault(name)) == expected, name
    # and the whole config, every field at once
    assert approach.train_config() == replace(TrainConfig(), verbose=1)


def test_params_reach_the_trainer_in_its_terms():
    approach = NerDLApproach(maxEpochs=3, lr=0.01, earlyStoppingPatience=2, numThreads=0, randomSeed=7)
    approach.setCheckpointPath("/tmp/ckpt").setVerbose(4).setGradClip(1.5).setCasingDim(6)
    config = approach.train_config()
    assert (config.max_epochs, config.lr, config.early_stopping_patience) == (3, 0.01, 2)
    assert (config.num_threads, config.random_seed, config.checkpoint_dir) == (None, 7, "/tmp/ckpt")
    assert (config.verbose, config.grad_clip, config.casing_dim) == (0, 1.5, 6)
    assert NerDLApproach().getCasingDim() == 0 == TrainConfig().casing_dim  # off: Spark NLP's network
    assert NerDLApproach().setCheckpointPath("").train_config().checkpoint_dir is None


@pytest.mark.parametrize("stage_class", STAGES, ids=lambda c: c.__name__)
def test_every_param_has_a_getter_a_setter_and_a_doc(stage_class):
    stage = stage_class()
    for param in stage.params:
        getter = getattr(stage, "get" + _suffix(param.name), None)
        setter = getattr(stage, "set" + _suffix(param.name), None)
        assert callable(getter) and callable(setter), f"{stage_class.__name__}.{param.name}"
        assert param.doc and param.doc != "undefined", f"{stage_class.__name__}.{param.name}"
        if stage.hasDefault(param) and param.name != "outputCols":  # Finisher's getter derives its names
            assert getter() == stage.getOrDefault(param), f"{stage_class.__name__}.{param.name}"


def test_set_params_sets_through_each_setter_and_its_checks():
    approach = NerDLApproach().setParams(maxEpochs=4, lr=0.003, inputCols=["s", "t", "e"])
    assert (approach.getMaxEpochs(), approach.getLr(), approach.getInputCols()) == (4, 0.003, ["s", "t", "e"])
    with pytest.raises(ValueError, match=r"dropout is the probability to KEEP a unit .*got 1.5"):
        NerDLApproach().setParams(dropout=1.5)
    with pytest.raises(ValueError, match="validationSplit must be in"):
        NerDLApproach(validationSplit=1.0)  # the constructor's arguments go through the same setters
    with pytest.raises(
        ValueError, match=r"casingDim must be >= 0 \(0 turns the casing embedding off\); got -2"
    ):
        NerDLApproach().setCasingDim(-2)
    with pytest.raises(ValueError, match=r"casing_dim must be >= 0 \(0: no casing embedding\), got -1"):
        TrainConfig(casing_dim=-1)  # the trainer refuses it too (a param set around its setter, the API)
    with pytest.raises(ValueError, match="bestModelMetric must be one of 'f1_micro', 'f1_macro'; got 'acc'"):
        NerDLApproach().setBestModelMetric("acc")
    with pytest.raises(ValueError, match="customBoundsStrategy must be one of"):
        SentenceDetector(customBoundsStrategy="middle")
    with pytest.raises(
        TypeError, match=r"NerDLApproach has no param 'maxEpoch'; its params are: .*maxEpochs"
    ):
        NerDLApproach().setParams(maxEpoch=3)


def test_a_row_is_all_a_new_param_needs():
    class Approach(NerDLApproach):
        param_table = (
            field_param(
                TrainConfig, "evalBatchSize", "eval_batch_size", TypeConverters.toInt, "scoring batch"
            ),
            ParamSpec("note", "free text", TypeConverters.toString, "none"),
        )

    stage = Approach()
    assert stage.getEvalBatchSize() == TrainConfig().eval_batch_size and stage.getNote() == "none"
    assert stage.setEvalBatchSize(16).train_config().eval_batch_size == 16
    assert "evalBatchSize: scoring batch (default: 64, current: 16)" in stage.explainParams()
    assert stage.setParams(note="x").getNote() == "x"
    assert not hasattr(NerDLApproach(), "getNote")  # the base class is untouched
