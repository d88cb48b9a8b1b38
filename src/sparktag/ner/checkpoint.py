"""A trained tagger as data: ``config.json`` and ``weights.safetensors``, never a pickle; and its predictor.

``config.json`` holds the format version, the network shape (:class:`~sparktag.ner.model.NerConfig`), the tag
list and the character vocabulary; ``weights.safetensors`` the tensors by parameter name. Both are readable
without sparktag (json + safetensors), and the pair is what the Spark stage writer and the MLflow flavor store.

    >>> files = to_files(result)              # {"config.json": b"...", "weights.safetensors": b"..."}
    >>> tagger = from_files(files)
    >>> tagger.predict([["Peter", "lives"]], [embeddings], include_confidence=True)
    [[TokenPrediction(tag='B-PER', confidence=0.98, scores=None), ...]]
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import torch
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors

from sparktag.ner.data import CharVocab, NerExample, collate, encode_example, length_batches
from sparktag.ner.model import NerConfig, NerTagger

if TYPE_CHECKING:
    from sparktag.ner.train import TrainResult

FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "weights.safetensors"


class TokenPrediction(NamedTuple):
    """The tag of one token, with its CRF marginal probability and every tag's, when asked for."""

    tag: str
    confidence: float | None
    scores: dict[str, float] | None


class Tagger:
    """A trained network with its vocabularies: tags sentences given their tokens and word embeddings.

    Args:
        model: the network (put in eval mode for prediction).
        tags: tag of each id.
        char_vocab: the character vocabulary of training.
    """

    def __init__(self, model: NerTagger, tags: Sequence[str], char_vocab: CharVocab) -> None:
        if len(tags) != model.config.n_tags:
            raise ValueError(f"{len(tags)} tags given for a model with n_tags={model.config.n_tags}")
        self.model = model
        self.tags = list(tags)
        self.char_vocab = char_vocab
        self._char_ids = char_vocab.ids()

    @classmethod
    def from_result(cls, result: TrainResult) -> Tagger:
        return cls(result.model, result.tags, result.char_vocab)

    @property
    def config(self) -> NerConfig:
        return self.model.config

    @property
    def embedding_dim(self) -> int:
        return self.model.config.embedding_dim

    def predict(
        self,
        tokens: Sequence[Sequence[str]],
        embeddings: Sequence[np.ndarray],
        batch_size: int = 32,
        include_confidence: bool = False,
        include_all_scores: bool = False,
    ) -> list[list[TokenPrediction]]:
        """Tag sentences.

        Args:
            tokens: the words of each sentence.
            embeddings: per sentence an ``(n_tokens, dim)`` float array, from the embeddings used in training.
            batch_size: sentences per forward pass (sentences are grouped by length first).
            include_confidence: fill ``confidence`` with the CRF marginal probability of the chosen tag.
            include_all_scores: fill ``scores`` with the marginal probability of every tag.

        Returns:
            per sentence, per token a :class:`TokenPrediction` (``(tag, confidence, scores)``), in input order.

        Raises:
            ValueError: ``tokens`` and ``embeddings`` differ in length, or a sentence's embeddings do not have
                one row per token of the model's dimension.
        """
        if len(tokens) != len(embeddings):
            raise ValueError(
                f"{len(tokens)} token lists but {len(embeddings)} embedding arrays; give one per sentence"
            )
        examples = [NerExample(list(t), e) for t, e in zip(tokens, embeddings, strict=True)]
        with_scores = include_confidence or include_all_scores
        results: list[list[TokenPrediction]] = [[] for _ in examples]
        for positions, paths, confidences, marginals in self._decode(examples, batch_size, with_scores):
            for i, position in enumerate(positions):
                row = []
                for t, tag_id in enumerate(paths[i]):
                    confidence = confidences[i][t] if include_confidence and confidences else None
                    scores = None
                    if include_all_scores and marginals:
                        scores = {
                            tag: float(p) for tag, p in zip(self.tags, marginals[i][t].tolist(), strict=True)
                        }
                    row.append(TokenPrediction(self.tags[tag_id], confidence, scores))
                results[position] = row
        return results

    def predict_tags(self, examples: Sequence[NerExample], batch_size: int = 64) -> list[list[str]]:
        """The Viterbi tags of each example (tokens and embeddings are used, tags ignored), in input order."""
        results: list[list[str]] = [[] for _ in examples]
        for positions, paths, _, _ in self._decode(examples, batch_size, with_scores=False):
            for position, path in zip(positions, paths, strict=True):
                results[position] = [self.tags[i] for i in path]
        return results

    def _decode(
        self, examples: Sequence[NerExample], batch_size: int, with_scores: bool
    ) -> list[tuple[list[int], list[list[int]], list[list[float]], list[np.ndarray]]]:
        """Decode non-empty examples in length-sorted batches: (positions, paths, confidences, marginals)."""
        dim = self.embedding_dim
        encoded = []
        for position, example in enumerate(examples):
            if not example.tokens:
                continue  # an empty sentence gets an empty prediction
            shape = np.shape(example.embeddings)
            if len(shape) != 2 or shape[1] != dim:
                got = shape[1] if len(shape) == 2 else f"shape {shape}"
                raise ValueError(
                    f"sentence {position}: word embeddings have dimension {got} but the model was trained with "
                    f"dim {dim}; use the embeddings the model was trained with"
                )
            encoded.append(encode_example(example, self._char_ids, None, self.config.max_word_len, position))
        out = []
        model = self.model
        was_training = model.training
        if was_training:  # train(False) walks every submodule: not on each request of a loaded model
            model.eval()
        try:
            with torch.inference_mode():
                for members in length_batches([e.length for e in encoded], batch_size):
                    batch = collate([encoded[i] for i in members])
                    if with_scores:
                        paths, confidences, marginals = model.decode_with_scores(batch)
                        out.append((batch.positions, paths, confidences, marginals))
                    else:
                        out.append((batch.positions, model.decode(batch), [], []))
        finally:
            if was_training:
                model.train()
        return out


# A loaded checkpoint is a Tagger.
LoadedTagger = Tagger


def to_files(trained: TrainResult | Tagger) -> dict[str, bytes]:
    """Serialise a trained tagger to ``{"config.json": ..., "weights.safetensors": ...}``."""
    tagger = trained if isinstance(trained, Tagger) else Tagger.from_result(trained)
    config = {
        "format_version": FORMAT_VERSION,
        "model": tagger.config.to_dict(),
        "tags": tagger.tags,
        "chars": list(tagger.char_vocab.chars),
    }
    state = {name: t.detach().contiguous().cpu() for name, t in tagger.model.state_dict().items()}
    return {
        CONFIG_FILE: json.dumps(config, indent=2, sort_keys=True, ensure_ascii=False).encode("utf-8"),
        WEIGHTS_FILE: save_safetensors(state, metadata={"format_version": str(FORMAT_VERSION)}),
    }


def from_files(files: dict[str, bytes]) -> Tagger:
    """Rebuild a tagger from the files of :func:`to_files`.

    Raises:
        ValueError: a file is missing, the format version is unknown, or the weights do not fit the config.
    """
    missing = [name for name in (CONFIG_FILE, WEIGHTS_FILE) if name not in files]
    if missing:
        raise ValueError(f"NER checkpoint is missing {missing}; it has {sorted(files)}")
    config: dict[str, Any] = json.loads(files[CONFIG_FILE].decode("utf-8"))
    version = config.get("format_version")
    if version != FORMAT_VERSION:
        raise ValueError(
            f"NER checkpoint has format_version {version!r}, but this sparktag reads format_version "
            f"{FORMAT_VERSION} only; load it with the sparktag version that wrote it"
        )
    model = NerTagger(NerConfig.from_dict(config["model"]))
    state = load_safetensors(files[WEIGHTS_FILE])
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise ValueError(f"NER checkpoint weights do not match its {CONFIG_FILE}: {err}") from None
    model.eval()
    return Tagger(model, config["tags"], CharVocab(tuple(config["chars"])))


def save_dir(trained: TrainResult | Tagger, path: str | Path) -> Path:
    """Write the checkpoint files into directory ``path`` (created if needed); returns the path."""
    directory = Path(path)
    directory.mkdir(parents=True, exist_ok=True)
    for name, content in to_files(trained).items():
        (directory / name).write_bytes(content)
    return directory


def load_dir(path: str | Path) -> Tagger:
    """Load a checkpoint written by :func:`save_dir`."""
    directory = Path(path)
    if not directory.is_dir():
        raise ValueError(f"NER checkpoint directory {directory} does not exist")
    files = {
        name: (directory / name).read_bytes()
        for name in (CONFIG_FILE, WEIGHTS_FILE)
        if (directory / name).exists()
    }
    return from_files(files)
