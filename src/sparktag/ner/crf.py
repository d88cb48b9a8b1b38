"""Linear-chain CRF: negative log-likelihood, Viterbi decoding and per-token marginals.

Everything is vectorised over the batch and loops only over time steps (sentences are short, tags few).
Shapes use ``B`` = batch, ``T`` = padded sentence length, ``K`` = number of tags. A ``mask`` is ``(B, T)``
bool, True on real tokens; every sentence must have at least one token and its tokens must come first
(right padding), which is what ``ner/data.py`` produces.

Unlike TensorFlow's ``crf_log_likelihood`` used by Spark NLP, the CRF also learns start and end
transition scores: a sentence starting with ``I-PER`` is then as easy to rule out as ``O -> I-PER``.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn


class CRF(nn.Module):
    """A linear-chain conditional random field over ``n_tags`` tags.

    Args:
        n_tags: number of tags ``K``.

    ``transitions[i, j]`` scores moving from tag ``i`` to tag ``j``.
    """

    def __init__(self, n_tags: int) -> None:
        super().__init__()
        if n_tags < 1:
            raise ValueError(f"a CRF needs at least one tag, got n_tags={n_tags}")
        self.n_tags = n_tags
        # Small uniform init: the emissions dominate at first, as in TF's Glorot-uniform init of Spark NLP.
        self.transitions = nn.Parameter(torch.empty(n_tags, n_tags).uniform_(-0.1, 0.1))  # (K, K)
        self.start_transitions = nn.Parameter(torch.empty(n_tags).uniform_(-0.1, 0.1))  # (K,)
        self.end_transitions = nn.Parameter(torch.empty(n_tags).uniform_(-0.1, 0.1))  # (K,)

    def nll(self, emissions: Tensor, tags: Tensor, mask: Tensor) -> Tensor:
        """Negative log-likelihood of the gold tag paths.

        Args:
            emissions: ``(B, T, K)`` float scores.
            tags: ``(B, T)`` long gold tags (any value on padding).
            mask: ``(B, T)`` bool.

        Returns:
            ``(B,)`` NLL per sentence: ``log Z - score(gold path)``.
        """
        return self.log_partition(emissions, mask) - self.path_score(emissions, tags, mask)

    def path_score(self, emissions: Tensor, tags: Tensor, mask: Tensor) -> Tensor:
        """Unnormalised score of the given tag paths, ``(B,)``."""
        maskf = mask.to(emissions.dtype)  # (B, T)
        tags = tags.masked_fill(~mask, 0)  # padding may hold anything; keep gather indices valid
        emit = emissions.gather(2, tags.unsqueeze(2)).squeeze(2)  # (B, T)
        score = (emit * maskf).sum(1)  # (B,)
        trans = self.transitions[tags[:, :-1], tags[:, 1:]]  # (B, T-1)
        score = score + (trans * maskf[:, 1:]).sum(1)
        lengths = mask.sum(1)  # (B,)
        last = tags.gather(1, (lengths - 1).unsqueeze(1)).squeeze(1)  # (B,)
        return score + self.start_transitions[tags[:, 0]] + self.end_transitions[last]

    def log_partition(self, emissions: Tensor, mask: Tensor) -> Tensor:
        """``log Z`` of each sentence by the forward algorithm, ``(B,)``."""
        _, seq_len, _ = emissions.shape
        alpha = self.start_transitions.unsqueeze(0) + emissions[:, 0]  # (B, K)
        trans = self.transitions.unsqueeze(0)  # (1, K_from, K_to)
        for t in range(1, seq_len):
            # (B, K_from, 1) + (1, K_from, K_to) + (B, 1, K_to) -> logsumexp over K_from -> (B, K_to)
            step = torch.logsumexp(alpha.unsqueeze(2) + trans + emissions[:, t].unsqueeze(1), dim=1)
            alpha = torch.where(mask[:, t].unsqueeze(1), step, alpha)  # padding carries alpha unchanged
        return torch.logsumexp(alpha + self.end_transitions.unsqueeze(0), dim=1)

    def viterbi_decode(self, emissions: Tensor, mask: Tensor) -> list[list[int]]:
        """Best tag path of each sentence.

        Args:
            emissions: ``(B, T, K)``; mask: ``(B, T)`` bool.

        Returns:
            one list of tag ids per sentence, as long as its mask.
        """
        return viterbi_paths(*self._numpy(emissions, mask))

    def marginals(self, emissions: Tensor, mask: Tensor) -> Tensor:
        """Posterior probability of every tag at every token (forward-backward).

        Args:
            emissions: ``(B, T, K)``; mask: ``(B, T)`` bool.

        Returns:
            ``(B, T, K)`` probabilities; each real token's row sums to 1, padding rows are 0.
        """
        probs = marginal_probs(*self._numpy(emissions, mask))
        return torch.from_numpy(probs).to(emissions.dtype)

    def _numpy(self, emissions: Tensor, mask: Tensor) -> tuple[np.ndarray, ...]:
        """Emissions, mask and the three transition tables as numpy arrays, for the decoders below."""
        return (
            emissions.detach().cpu().numpy(),
            mask.detach().cpu().numpy(),
            self.transitions.detach().cpu().numpy(),
            self.start_transitions.detach().cpu().numpy(),
            self.end_transitions.detach().cpu().numpy(),
        )


# Decoding runs in numpy: it loops over time steps on arrays of a few dozen numbers, where each torch call
# costs microseconds of dispatch and numpy's a fraction of that (a one-sentence request decodes 3x faster).
# Viterbi does the very float32 additions and first-index maxima torch did, so the paths are the same.


def viterbi_paths(
    emissions: np.ndarray, mask: np.ndarray, transitions: np.ndarray, start: np.ndarray, end: np.ndarray
) -> list[list[int]]:
    """Best tag path of each sentence: ``(B, T, K)`` emissions, ``(B, T)`` bool mask, ``(K, K)`` transitions
    and ``(K,)`` start/end scores in; one list of tag ids per sentence, as long as its mask, out."""
    batch, seq_len, _ = emissions.shape
    score = start[None, :] + emissions[:, 0]  # (B, K)
    backpointers = []  # T-1 arrays of (B, K_to): best previous tag
    for t in range(1, seq_len):
        candidates = score[:, :, None] + transitions[None, :, :]  # (B, K_from, K_to)
        backpointers.append(candidates.argmax(axis=1))  # (B, K_to), the first maximum on ties (as torch.max)
        best = candidates.max(axis=1)  # (B, K_to)
        score = np.where(mask[:, t, None], best + emissions[:, t], score)
    lengths = mask.sum(axis=1)  # (B,)
    current = (score + end[None, :]).argmax(axis=1)  # (B,) tag at the last token
    path = np.zeros((batch, seq_len), dtype=np.int64)  # (B, T)
    path[:, seq_len - 1] = current
    rows = np.arange(batch)
    for t in range(seq_len - 2, -1, -1):
        previous = backpointers[t][rows, current]  # tag at t given the tag at t+1
        # Until we reach a sentence's last token (t+1 is padding), keep carrying its final tag.
        current = np.where(mask[:, t + 1], previous, current)
        path[:, t] = current
    return [row[:n] for row, n in zip(path.tolist(), lengths.tolist(), strict=True)]


def marginal_probs(
    emissions: np.ndarray, mask: np.ndarray, transitions: np.ndarray, start: np.ndarray, end: np.ndarray
) -> np.ndarray:
    """Posterior probability of every tag at every token (forward-backward), ``(B, T, K)`` float64; each real
    token's row sums to 1, padding rows are 0. Arguments as :func:`viterbi_paths`."""
    # float64: alpha + beta - log Z cancels large numbers, and float32 would lose the small ones.
    emissions = emissions.astype(np.float64)
    _, seq_len, _ = emissions.shape
    trans = transitions.astype(np.float64)[None, :, :]  # (1, K_from, K_to)
    alphas = [start.astype(np.float64)[None, :] + emissions[:, 0]]  # T arrays of (B, K)
    for t in range(1, seq_len):
        # (B, K_from, 1) + (1, K_from, K_to) + (B, 1, K_to) -> logsumexp over K_from -> (B, K_to)
        step = _logsumexp(alphas[-1][:, :, None] + trans + emissions[:, t, None, :], axis=1)
        alphas.append(np.where(mask[:, t, None], step, alphas[-1]))
    end64 = np.broadcast_to(end.astype(np.float64)[None, :], alphas[0].shape)  # (B, K)
    betas = [end64] * seq_len  # beta[t][i]: log-sum of paths from tag i at t to the sentence end
    for t in range(seq_len - 2, -1, -1):
        # (1, K_from, K_to) + (B, 1, K_to) -> logsumexp over K_to -> (B, K_from)
        step = _logsumexp(trans + (emissions[:, t + 1] + betas[t + 1])[:, None, :], axis=2)
        betas[t] = np.where(mask[:, t + 1, None], step, end64)  # t is the last token -> end
    alpha = np.stack(alphas, axis=1)  # (B, T, K)
    beta = np.stack(betas, axis=1)  # (B, T, K)
    log_z = _logsumexp(alphas[-1] + end64, axis=1)  # (B,)
    probs = np.exp(alpha + beta - log_z[:, None, None])
    return probs * mask[:, :, None]


def _logsumexp(x: np.ndarray, axis: int) -> np.ndarray:
    """``log(sum(exp(x)))`` over ``axis`` without overflow (torch.logsumexp's recipe)."""
    top = x.max(axis=axis, keepdims=True)
    top[np.isinf(top)] = 0.0  # all -inf (or an inf) along the axis: leave the values as they are
    return (np.log(np.exp(x - top).sum(axis=axis, keepdims=True)) + top).squeeze(axis)
