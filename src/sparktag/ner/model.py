"""The NerDL network: char CNN (+ char BiLSTM) ++ frozen word embeddings -> residual BiLSTM stack -> CRF.

It follows Spark NLP's ``create_graph`` (``ner_model.py``): character embeddings (dim 25) feed a width-3 CNN
with ReLU and max-pooling and, optionally, a character BiLSTM; their outputs are concatenated with the word
embeddings (and, an option Spark NLP does not have, off by default, a learned embedding of each token's casing
class of ``sparktag.core.casing``), projected by a ReLU dense layer to ``2 * lstm_hidden``, passed through
BiLSTM layers with residual connections, and a dense layer gives per-tag emission scores for the CRF. Dropout
(given, like Spark NLP, as a *keep* probability) is applied to the character embeddings, after the projection
and before the output layer. In training, every sentence draws its dropout masks from a generator of its own
(:class:`RowNoise`), so its masks do not depend on which sentences share its batch: a batch split over
data-parallel ranks draws the masks one process draws.

Shapes: ``B`` batch, ``T`` sentence length, ``W`` word length in characters, ``N`` real words in the batch,
``D`` embedding dim, ``K`` tags, ``H`` ``lstm_hidden``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from sparktag.core.casing import CASINGS, PADDING
from sparktag.ner.crf import CRF, marginal_probs, viterbi_paths
from sparktag.ner.data import Batch


@dataclass
class NerConfig:
    """The shape of a :class:`NerTagger`; everything needed to rebuild it before loading weights.

    Args:
        embedding_dim: dimension ``D`` of the frozen word embeddings.
        char_vocab_size: number of character ids (``CharVocab.size``, padding and unknown included).
        n_tags: number of tags ``K``, ``O`` included.
        char_emb_dim: character embedding size (Spark NLP: 25).
        char_cnn_filters: CNN filters, the char-CNN feature size; 0 disables the CNN (Spark NLP: 30).
        char_cnn_kernel: CNN window in characters (Spark NLP: 3).
        char_lstm_hidden: hidden size per direction of the character BiLSTM; 0 disables it (Spark NLP: 30).
            Off by default: on CPU it costs about a third of the epoch time (a recurrent pass over every word)
            for a small gain over the CNN, which already sees prefixes, suffixes and capitalisation.
        lstm_hidden: hidden size ``H`` per direction of the sentence BiLSTMs (Spark NLP: 128).
        lstm_layers: number of residual BiLSTM layers (Spark NLP graphs: 3).
        dropout: the probability to KEEP a unit, as Spark NLP's ``dropout`` param; torch drops ``1 - dropout``.
        max_word_len: characters kept per word; longer words are truncated.
        casing_dim: size of a learned embedding of each token's casing class (``sparktag.core.casing``:
            numeric, all_upper, initial_upper, ...), concatenated beside the word embedding and char features
            before the projection; 0 disables it (the default, Spark NLP's network). Useful when the word
            embeddings are uncased: then only the char features see capitalisation.
    """

    embedding_dim: int
    char_vocab_size: int
    n_tags: int
    char_emb_dim: int = 25
    char_cnn_filters: int = 30
    char_cnn_kernel: int = 3
    char_lstm_hidden: int = 0
    lstm_hidden: int = 128
    lstm_layers: int = 1
    dropout: float = 0.5
    max_word_len: int = 24
    casing_dim: int = 0  # last: a model saved before it existed has none, and loads with it off

    def __post_init__(self) -> None:
        if not 0.0 < self.dropout <= 1.0:
            raise ValueError(
                f"dropout is the probability to keep a unit (Spark NLP's convention) and must be in (0, 1], "
                f"got {self.dropout}"
            )
        for name in (
            "embedding_dim",
            "char_vocab_size",
            "n_tags",
            "lstm_hidden",
            "lstm_layers",
            "max_word_len",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"NerConfig.{name} must be at least 1, got {getattr(self, name)}")
        if self.casing_dim < 0:
            raise ValueError(f"NerConfig.casing_dim must be >= 0 (0 turns casing off), got {self.casing_dim}")

    def to_dict(self) -> dict[str, Any]:
        values = asdict(self)
        if not self.casing_dim:
            # Casing off: the config.json of a sparktag before the option, which that version still reads.
            del values["casing_dim"]
        return values

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> NerConfig:
        return cls(**values)


class KeepDropout(nn.Module):
    """Inverted dropout given the probability to KEEP a unit (Spark NLP's convention).

    Same maths as ``nn.Dropout(1 - keep)``, but draws the mask with ``rand_like`` < keep, which on CPU is ~3x
    faster than the ``bernoulli_`` of ``nn.Dropout`` (it shows at batch size 8, where the tensors are small).
    Given a ``mask`` (0/1, from :class:`RowNoise`), applies that one instead of drawing.
    """

    def __init__(self, keep: float) -> None:
        super().__init__()
        self.keep = keep

    @property
    def p(self) -> float:
        """The drop probability, as ``nn.Dropout`` names it."""
        return 1.0 - self.keep

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        if not self.training or self.keep >= 1.0:
            return x
        if mask is None:
            mask = (torch.rand_like(x) < self.keep).to(x.dtype)
        return x * mask * (1.0 / self.keep)


class RowNoise:
    """Dropout masks drawn sentence by sentence, each sentence from its own seeded generator.

    A sentence's masks depend only on its seed and its own length, never on the other sentences of the batch or
    the batch's padding: training that splits a batch over several processes (``ner/distributed.py``) draws
    exactly the masks one process draws for the whole batch. The generators are used in the forward pass's
    order (character embeddings, projection, BiLSTM output), one draw per site.

    Args:
        seeds: one seed per sentence of the batch, in batch order.
        lengths: the sentences' token counts, in batch order.
    """

    def __init__(self, seeds: Sequence[int], lengths: Sequence[int]) -> None:
        if len(seeds) != len(lengths):
            raise ValueError(
                f"RowNoise needs one seed per sentence: {len(seeds)} seeds, {len(lengths)} sentences"
            )
        self._generators = [torch.Generator().manual_seed(int(s)) for s in seeds]
        self._lengths = [int(n) for n in lengths]

    def token_mask(self, keep: float, seq_len: int, width: int) -> Tensor:
        """A ``(B, T, width)`` 0/1 mask: each sentence's ``(L, width)`` draw, ones on padding."""
        rows = []
        for generator, n in zip(self._generators, self._lengths, strict=True):
            row = torch.ones(seq_len, width)
            row[:n] = (torch.rand((n, width), generator=generator) < keep).to(row.dtype)
            rows.append(row)
        return torch.stack(rows)

    def char_mask(self, keep: float, word_len: int, max_word_len: int, channels: int) -> Tensor:
        """A ``(N, word_len, channels)`` 0/1 mask for the real words of the batch (sentence by sentence).

        Each sentence draws ``(L, max(max_word_len, word_len), channels)`` and keeps the first ``word_len``
        characters, so its mask does not depend on the batch's longest word.
        """
        drawn = max(max_word_len, word_len)
        parts = [
            torch.rand((n, drawn, channels), generator=generator)[:, :word_len] < keep
            for generator, n in zip(self._generators, self._lengths, strict=True)
        ]
        return torch.cat(parts).to(torch.float32)


def _conv_as_matmul(conv: nn.Conv1d, x: Tensor) -> Tensor:
    """``conv`` over ``x`` ``(N, W, C)`` as one matrix product: ``(N, W, F)``, the same numbers as ``conv(x.mT)``.

    Why not ``nn.Conv1d`` itself: N (the words of a batch) differs in every batch, and oneDNN caches a
    convolution primitive per input shape (up to 1024 of each kind), so over a long training the cache grows by
    hundreds of MB while almost never being hit. A matmul has no per-shape state.
    """
    (kernel,) = conv.kernel_size
    if isinstance(conv.padding, str):  # NerTagger builds it with a number
        raise ValueError(f"the char CNN needs a numeric padding, got {conv.padding!r}")
    (pad,) = conv.padding
    windows = nn.functional.pad(x, (0, 0, pad, pad)).unfold(1, kernel, 1)  # (N, W, C, kernel)
    weight = conv.weight.reshape(conv.out_channels, -1)  # (F, C * kernel), the same (C, kernel) order
    out = windows.reshape(windows.shape[0], windows.shape[1], -1) @ weight.T  # (N, W, F)
    return out + conv.bias if conv.bias is not None else out


class NerTagger(nn.Module):
    """Char CNN (+ char BiLSTM) ++ word embeddings (++ casing embedding) -> BiLSTMs -> emissions -> CRF.

    Training mode applies dropout; call ``.eval()`` before decoding.
    """

    def __init__(self, config: NerConfig) -> None:
        super().__init__()
        self.config = config
        self.char_embedding = nn.Embedding(config.char_vocab_size, config.char_emb_dim, padding_idx=0)
        self.char_dropout = KeepDropout(config.dropout)
        self.char_cnn: nn.Conv1d | None = None
        if config.char_cnn_filters > 0:
            self.char_cnn = nn.Conv1d(
                config.char_emb_dim,
                config.char_cnn_filters,
                config.char_cnn_kernel,
                padding=config.char_cnn_kernel // 2,
            )
        self.char_lstm: nn.LSTM | None = None
        if config.char_lstm_hidden > 0:
            self.char_lstm = nn.LSTM(
                config.char_emb_dim, config.char_lstm_hidden, batch_first=True, bidirectional=True
            )
        self.casing_embedding: nn.Embedding | None = None
        if config.casing_dim > 0:  # none when off: no new weights, so an older model's file loads strictly
            self.casing_embedding = nn.Embedding(len(CASINGS), config.casing_dim, padding_idx=PADDING)
        char_features = config.char_cnn_filters + 2 * config.char_lstm_hidden
        width = 2 * config.lstm_hidden
        self.projection = nn.Linear(config.embedding_dim + char_features + config.casing_dim, width)
        self.dropout = KeepDropout(config.dropout)
        self.lstms = nn.ModuleList(
            nn.LSTM(width, config.lstm_hidden, batch_first=True, bidirectional=True)
            for _ in range(config.lstm_layers)
        )
        self.output = nn.Linear(width, config.n_tags)
        self.crf = CRF(config.n_tags)

    def char_features(self, char_ids: Tensor, mask: Tensor, noise: RowNoise | None = None) -> Tensor:
        """Character features of every word, ``(B, T, F)``; zeros on padding.

        Only the ``N`` real words are computed (no work spent on padded positions).
        """
        batch, seq_len, _ = char_ids.shape
        words = char_ids[mask]  # (N, W)
        chars = self.char_embedding(words)  # (N, W, C)
        drop = None
        if noise is not None and self.training and self.config.dropout < 1.0:
            drop = noise.char_mask(
                self.config.dropout, words.shape[1], self.config.max_word_len, chars.shape[2]
            )
        chars = self.char_dropout(chars, drop)
        char_mask = words != 0  # (N, W)
        parts = []
        if self.char_cnn is not None:
            conv = torch.relu(_conv_as_matmul(self.char_cnn, chars))  # (N, W, F_cnn)
            # ReLU outputs are >= 0, so zeroing padded characters leaves the max over real ones.
            conv = conv * char_mask.unsqueeze(2).to(conv.dtype)
            parts.append(conv.max(dim=1).values)  # (N, F_cnn)
        if self.char_lstm is not None:
            word_lens = char_mask.sum(1).clamp(min=1).cpu()  # (N,) an empty token reads one pad char
            packed = pack_padded_sequence(chars, word_lens, batch_first=True, enforce_sorted=False)
            _, (h_n, _) = self.char_lstm(packed)  # h_n: (2, N, H_char), forward then backward
            parts.append(torch.cat([h_n[0], h_n[1]], dim=1))  # (N, 2 * H_char)
        if not parts:
            return char_ids.new_zeros((batch, seq_len, 0), dtype=torch.float32)
        words_out = torch.cat(parts, dim=1)  # (N, F)
        out = words_out.new_zeros(batch, seq_len, words_out.shape[1])  # (B, T, F)
        out[mask] = words_out
        return out

    def emissions(self, batch: Batch, noise: RowNoise | None = None) -> Tensor:
        """Per-tag scores of every token, ``(B, T, K)``; in training, ``noise`` draws the dropout masks."""
        config = self.config
        if batch.embeddings.shape[2] != config.embedding_dim:
            raise ValueError(
                f"word embeddings have dimension {batch.embeddings.shape[2]} but the model was trained with "
                f"dim {config.embedding_dim}; use the same embeddings as in training"
            )
        seq_len = batch.mask.shape[1]
        chars = self.char_features(batch.char_ids, batch.mask, noise)  # (B, T, F)
        parts = [batch.embeddings, chars]  # (B, T, D), (B, T, F)
        if self.casing_embedding is not None:
            parts.append(self.casing_embedding(batch.casing_ids))  # (B, T, casing_dim)
        words = torch.cat(parts, dim=2)
        x = torch.relu(self.projection(words))  # (B, T, 2H)
        x = self.dropout(x, self._token_mask(noise, x))
        if not self.training and bool((batch.lengths == seq_len).all()):
            # Predicting without padding (one sentence, or sentences of one length): packing would only
            # reorder the rows; the plain call computes the same numbers a tenth of a millisecond sooner.
            out = x
            for lstm in self.lstms:
                out = lstm(out)[0] + out  # residual, as below
            return self.output(self.dropout(out))  # (B, T, K)
        packed = pack_padded_sequence(x, batch.lengths, batch_first=True, enforce_sorted=False)
        for lstm in self.lstms:
            out, _ = lstm(packed)  # packed (sum of lengths, 2H)
            # Residual connection, as Spark NLP's add_context_repr; both share the packed ordering.
            packed = PackedSequence(
                out.data + packed.data, packed.batch_sizes, packed.sorted_indices, packed.unsorted_indices
            )
        context, _ = pad_packed_sequence(packed, batch_first=True, total_length=seq_len)  # (B, T, 2H)
        return self.output(self.dropout(context, self._token_mask(noise, context)))  # (B, T, K)

    def _token_mask(self, noise: RowNoise | None, x: Tensor) -> Tensor | None:
        if noise is None or not self.training or self.config.dropout >= 1.0:
            return None
        return noise.token_mask(self.config.dropout, x.shape[1], x.shape[2])

    def loss(self, batch: Batch, noise: RowNoise | None = None) -> Tensor:
        """Mean CRF negative log-likelihood over the sentences of the batch (Spark NLP's ``reduce_mean``).

        ``noise``: per-sentence dropout masks (training draws them so); None draws from torch's generator.
        """
        if batch.tag_ids is None:
            raise ValueError("loss needs a batch with gold tags (tag_ids is None)")
        return self.crf.nll(self.emissions(batch, noise), batch.tag_ids, batch.mask).mean()

    def decode(self, batch: Batch) -> list[list[int]]:
        """Viterbi tag ids of each sentence."""
        return self.crf.viterbi_decode(self.emissions(batch), batch.mask)

    def decode_with_scores(self, batch: Batch) -> tuple[list[list[int]], list[list[float]], list[np.ndarray]]:
        """Viterbi tags with confidences.

        Returns:
            ``(tags, confidence, marginals)``: Viterbi tag ids per sentence; per token the CRF marginal
            probability of its chosen tag; per sentence an ``(L, K)`` float32 array of all tag marginals.
        """
        arrays = self.crf._numpy(self.emissions(batch), batch.mask)  # converted once for both decoders
        tags = viterbi_paths(*arrays)
        probs = marginal_probs(*arrays).astype(np.float32)  # (B, T, K)
        marginals = [probs[b, : len(path)] for b, path in enumerate(tags)]
        confidence = [m[np.arange(len(path)), path].tolist() for m, path in zip(marginals, tags, strict=True)]
        return tags, confidence, marginals
