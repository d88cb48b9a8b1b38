"""BertEmbeddings: sentence + token -> ``word_embeddings`` from any local Hugging Face BERT-family model.

The model's files travel inside the stage (``data/`` of its saved folder), so a saved pipeline is
self-contained; on Spark they ship to each executor once (a broadcast, see ``stage.ship_files``) and each
Python process loads them once (keyed by their digest), not once per task or batch.
"""

from __future__ import annotations

from typing import Any

from pyspark import keyword_only
from pyspark.ml.param import TypeConverters

from sparktag.annotation import Annotation, AnnotatorType
from sparktag.embeddings.annotate import embed_rows
from sparktag.embeddings.layers import (
    LAYER_POOLINGS,
    layer_count,
    layer_factor,
    layers_problem,
    resolve_layers,
)
from sparktag.embeddings.transformer import PRECISIONS
from sparktag.spark.params import (
    HasBatchSize,
    HasCaseSensitive,
    HasDimension,
    HasStorageRef,
    ParamSpec,
    one_of,
)
from sparktag.spark.persistence import WeightsReadWrite
from sparktag.spark.stage import (
    AnnotateFn,
    AnnotatorModel,
    files_digest,
    limit_torch_threads_in_task,
    ship_files,
)


def _max_sentence_length_check(value: int) -> str | None:
    return None if value >= 8 else f"maxSentenceLength must be at least 8 wordpieces; got {value}"


def _layers_check(value: list[int]) -> str | None:
    return layers_problem(value, "layers")


_layer_pooling_check = one_of("layerPooling", LAYER_POOLINGS)


class BertEmbeddings(
    AnnotatorModel, HasBatchSize, HasCaseSensitive, HasDimension, HasStorageRef, WeightsReadWrite
):
    """Contextual word embeddings from a transformer encoder (BERT, DistilBERT, MiniLM, RoBERTa, ...).

    Create one with :meth:`loadSavedModel` (a local model folder), :meth:`pretrained` (a name in the local
    model cache) or :meth:`load` (a saved stage). Every token gets a vector: sentences longer than
    ``maxSentenceLength`` wordpieces are encoded in overlapping windows, never truncated.

    ``layers`` and ``layerPooling`` choose the hidden layers a vector is made of (the last one by default);
    ``dimension`` follows them: with ``layerPooling="concat"`` it is ``len(layers)`` times the hidden size.

    Example:
        >>> emb = BertEmbeddings.pretrained("all_minilm_l6_v2", "en")  # doctest: +SKIP
        >>> emb = emb.setInputCols("sentence", "token").setOutputCol("embeddings")  # doctest: +SKIP
    """

    inputAnnotatorTypes = (AnnotatorType.DOCUMENT, AnnotatorType.TOKEN)
    outputAnnotatorType = AnnotatorType.WORD_EMBEDDINGS

    param_table: tuple[ParamSpec, ...] = (
        ParamSpec(
            "maxSentenceLength",
            "longest wordpiece window fed to the model; longer sentences are split into overlapping windows",
            TypeConverters.toInt,
            128,
            check=_max_sentence_length_check,
        ),
        ParamSpec(
            "poolingStrategy",
            "how a word's vector is made from its wordpieces: 'first' (Spark NLP's) or 'mean'",
            TypeConverters.toString,
            "first",
            check=one_of("poolingStrategy", ("first", "mean")),
        ),
        ParamSpec(
            "precision",
            "the encoder's matrix products: 'float32' (exact) or 'bfloat16' (BERT models only; about a quarter "
            "less CPU where the CPU has native bfloat16, vectors within a few 1e-3). bfloat16 pays off on CPUs "
            "with native bfloat16 (AVX-512 BF16, AMX) and is slower elsewhere; check that your tagger's tags do "
            "not change before serving with it",
            TypeConverters.toString,
            "float32",
            check=one_of("precision", PRECISIONS),
        ),
        ParamSpec(
            "layers",
            "the encoder's hidden states a vector is made of, as Python indices into transformers' "
            "hidden_states: -1 the last layer (the default), -2 the one before, 0 the embedding output; e.g. "
            "[-1, -2, -3, -4] for the last four (the BERT paper's best NER features). sparktag's own BERT "
            "stops after the deepest layer asked for, so [-2] also saves the last layer's compute",
            TypeConverters.toListInt,
            [-1],
            check=_layers_check,
        ),
        ParamSpec(
            "layerPooling",
            "how the chosen layers are combined: 'mean' (averaged; the hidden size) or 'concat' (joined in the "
            "order of layers; dimension = len(layers) * hidden size, and the tagger learns its own mix of them)",
            TypeConverters.toString,
            "mean",
            check=_layer_pooling_check,
        ),
    )
    param_defaults = {"batchSize": 8, "caseSensitive": False, "dimension": 768, "storageRef": "bert"}

    @keyword_only
    def __init__(
        self,
        *,
        inputCols: list[str] | None = None,
        outputCol: str | None = None,
        batchSize: int | None = None,
        caseSensitive: bool | None = None,
        maxSentenceLength: int | None = None,
        poolingStrategy: str | None = None,
        precision: str | None = None,
        layers: list[int] | None = None,
        layerPooling: str | None = None,
        storageRef: str | None = None,
    ) -> None:
        super().__init__()
        self._files: dict[str, bytes] | None = None
        self._digest: str | None = None
        self._n_layers: int | None = None  # the model's, once it has one (from its config.json)
        self._init_params(self._input_kwargs)

    # -- creation ---------------------------------------------------------------------------------------
    @classmethod
    def loadSavedModel(cls, folder: str, spark: Any = None) -> BertEmbeddings:
        """Import a local Hugging Face model folder (``config.json``, tokenizer files, weights).

        Args:
            folder: the folder ``save_pretrained`` wrote.
            spark: accepted for Spark NLP compatibility; not needed.
        """
        import os

        from sparktag.embeddings.transformer import TransformerEncoder, get_encoder

        encoder = TransformerEncoder.from_folder(folder)
        stage = cls()
        files = encoder.to_files()
        stage._set_encoder_files(files)
        # This process already has the model loaded; a BERT runs as it will in every process that loads the
        # stage's files: on sparktag's own BERT (the same vectors, and bfloat16 available).
        get_encoder(stage._digest or "", lambda: TransformerEncoder.from_bert_files(files) or encoder)
        name = os.path.basename(os.path.normpath(folder))
        return stage._set(dimension=encoder.dimension, storageRef=name)  # the defaults: the last layer only

    @classmethod
    def pretrained(
        cls, name: str = "all_minilm_l6_v2", lang: str = "en", remote_loc: str | None = None
    ) -> BertEmbeddings:
        """Load a model by name from the local model cache (``$SPARKTAG_MODELS``); never downloads."""
        from sparktag.embeddings.model_folders import resolve_pretrained

        stage = cls.loadSavedModel(resolve_pretrained(name, lang))
        return stage._set(storageRef=name)

    # -- params -----------------------------------------------------------------------------------------
    def setDimension(self, value: int) -> BertEmbeddings:
        raise ValueError("dimension is read from the model (and layers, layerPooling) and cannot be set")

    def setLayers(self, value: list[int]) -> BertEmbeddings:
        """Set layers: the hidden states a vector is made of (-1 the last layer, 0 the embedding output).

        Checked against the model's number of layers when the stage has a model; ``dimension`` follows.
        """
        return self._set_layers(TypeConverters.toListInt(value), self.getLayerPooling())

    def setLayerPooling(self, value: str) -> BertEmbeddings:
        """Set layerPooling: 'mean' or 'concat' of the chosen layers; ``dimension`` follows."""
        return self._set_layers(self.getLayers(), TypeConverters.toString(value))

    def _set_layers(self, layers: list[int], pooling: str) -> BertEmbeddings:
        problem = _layers_check(layers) or _layer_pooling_check(pooling)
        if problem:
            raise ValueError(problem)
        self._check_layer_range(layers)
        # dimension is the hidden size times the factor of the layers and pooling set before
        hidden = self.getDimension() // layer_factor(self.getLayers(), self.getLayerPooling())
        return self._set(
            layers=layers, layerPooling=pooling, dimension=hidden * layer_factor(layers, pooling)
        )

    def _check_layer_range(self, layers: list[int]) -> None:
        """Refuse an index the model does not have (a stage without a model yet is checked when it runs)."""
        if self._n_layers is not None:
            resolve_layers(layers, self._n_layers, "BertEmbeddings layers")

    # -- weights ----------------------------------------------------------------------------------------
    def _set_encoder_files(self, files: dict[str, bytes]) -> None:
        import json

        self._files = files
        self._digest = files_digest(files)
        self._n_layers = layer_count(json.loads(files["config.json"])) if "config.json" in files else None

    def _to_files(self) -> dict[str, bytes]:
        if self._files is None:
            raise ValueError(f"{self.uid} has no model; create it with BertEmbeddings.loadSavedModel(folder)")
        return self._files

    def _from_files(self, files: dict[str, bytes]) -> None:
        self._set_encoder_files(files)

    # -- running ----------------------------------------------------------------------------------------
    def _annotator(self) -> AnnotateFn:
        from sparktag.embeddings.transformer import EncoderConfig

        digest = self._digest or ""
        get_files = ship_files(self._to_files(), digest)  # not the bytes: they would ride in every task
        config = EncoderConfig(
            case_sensitive=self.getCaseSensitive(),
            max_sentence_length=self.getMaxSentenceLength(),
            batch_size=self.getBatchSize(),
            pooling=self.getPoolingStrategy(),
            precision=self.getPrecision(),
            layers=tuple(self.getLayers()),
            layer_pooling=self.getLayerPooling(),
        )
        self._check_layer_range(self.getLayers())  # here, before a Spark job fails on it

        def annotate(columns: list[list[Any]]) -> list[list[Annotation]]:
            from sparktag.embeddings.transformer import TransformerEncoder, get_encoder

            limit_torch_threads_in_task()
            encoder = get_encoder(digest, lambda: TransformerEncoder.from_files(get_files()))
            return embed_rows(columns[1], lambda sents: encoder.embed(sents, config))

        return annotate
