"""A trained tagger: the network with its tag list and characters, tagging sentences (what serving loads).

The trainer returns one (``TrainResult.tagger``); ``ner/model_files.py`` writes and reads one as data.

    >>> tagger = load_dir("/models/ner")       # or from_files(files), or result.tagger
    >>> tagger.predict([["Peter", "lives"]], [embeddings], include_confidence=True)
    [[TokenPrediction(tag='B-PER', confidence=0.98, scores=None), ...]]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import torch

from sparktag.ner.data import CharVocab, NerExample, collate, encode_example, length_batches
from sparktag.ner.model import NerConfig, NerTagger


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
