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


class BertEmbeddings(
    AnnotatorModel, HasBatchSize, HasCaseSensitive, HasDimension, HasStorageRef, WeightsReadWrite
):
    """Contextual word embeddings from a transformer encoder (BERT, DistilBERT, MiniLM, RoBERTa, ...).

    Create one with :meth:`loadSavedModel` (a local model folder), :meth:`pretrained` (a name in the local
    model cache) or :meth:`load` (a saved stage). Every token gets a vector: sentences longer than
    ``maxSentenceLength`` wordpieces are encoded in overlapping windows, never truncated.

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
        storageRef: str | None = None,
    ) -> None:
        super().__init__()
        self._init_params(self._input_kwargs)
        self._files: dict[str, bytes] | None = None
        self._digest: str | None = None

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
        return stage._set(dimension=encoder.dimension, storageRef=name)

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
        raise ValueError("dimension is read from the model and cannot be set")

    # -- weights ----------------------------------------------------------------------------------------
    def _set_encoder_files(self, files: dict[str, bytes]) -> None:
        self._files = files
        self._digest = files_digest(files)

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
        )

        def annotate(columns: list[list[Any]]) -> list[list[Annotation]]:
            from sparktag.embeddings.transformer import TransformerEncoder, get_encoder

            limit_torch_threads_in_task()
            encoder = get_encoder(digest, lambda: TransformerEncoder.from_files(get_files()))
            return embed_rows(columns[1], lambda sents: encoder.embed(sents, config))

        return annotate
