"""Linear-chain CRF: negative log-likelihood, Viterbi decoding and per-token marginals.

Everything is vectorised over the batch and loops only over time steps (sentences are short, tags few).
Shapes use ``B`` = batch, ``T`` = padded sentence length, ``K`` = number of tags. A ``mask`` is ``(B, T)``
bool, True on real tokens; every sentence must have at least one token and its tokens must come first
(right padding), which is what ``ner/data.py`` produces.

Unlike TensorFlow's ``crf_log_likelihood`` used by Spark NLP, the CRF also learns start and end
transition scores: a sentence starting with ``I-PER`` is then as easy to rule out as ``O -> I-PER``.
"""

from __future__ import annotations

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
        batch, seq_len, _ = emissions.shape
        score = self.start_transitions.unsqueeze(0) + emissions[:, 0]  # (B, K)
        trans = self.transitions.unsqueeze(0)  # (1, K_from, K_to)
        backpointers = []  # T-1 tensors of (B, K_to): best previous tag
        for t in range(1, seq_len):
            best, best_prev = (score.unsqueeze(2) + trans).max(dim=1)  # (B, K_to) each
            step = best + emissions[:, t]
            score = torch.where(mask[:, t].unsqueeze(1), step, score)
            backpointers.append(best_prev)
        lengths = mask.sum(1)  # (B,)
        current = (score + self.end_transitions.unsqueeze(0)).argmax(dim=1)  # (B,) tag at the last token
        path = torch.zeros(batch, seq_len, dtype=torch.long, device=emissions.device)  # (B, T)
        path[:, seq_len - 1] = current
        for t in range(seq_len - 2, -1, -1):
            previous = backpointers[t].gather(1, current.unsqueeze(1)).squeeze(1)  # tag at t given t+1
            # Until we reach a sentence's last token (t+1 is padding), keep carrying its final tag.
            current = torch.where(mask[:, t + 1], previous, current)
            path[:, t] = current
        rows = path.tolist()
        return [row[:n] for row, n in zip(rows, lengths.tolist(), strict=True)]

    def marginals(self, emissions: Tensor, mask: Tensor) -> Tensor:
        """Posterior probability of every tag at every token (forward-backward).

        Args:
            emissions: ``(B, T, K)``; mask: ``(B, T)`` bool.

        Returns:
            ``(B, T, K)`` probabilities; each real token's row sums to 1, padding rows are 0.
        """
        # float64: alpha + beta - log Z cancels large numbers, and float32 would lose the small ones.
        dtype = emissions.dtype
        emissions = emissions.double()
        _, seq_len, _ = emissions.shape
        trans = self.transitions.double().unsqueeze(0)  # (1, K_from, K_to)
        start = self.start_transitions.double().unsqueeze(0)  # (1, K)
        alphas = [start + emissions[:, 0]]  # T tensors of (B, K)
        for t in range(1, seq_len):
            step = torch.logsumexp(alphas[-1].unsqueeze(2) + trans + emissions[:, t].unsqueeze(1), dim=1)
            alphas.append(torch.where(mask[:, t].unsqueeze(1), step, alphas[-1]))
        end = self.end_transitions.double().unsqueeze(0).expand_as(alphas[0])  # (B, K)
        betas = [end] * seq_len  # beta[t][i]: log-sum of paths from tag i at t to the sentence end
        for t in range(seq_len - 2, -1, -1):
            # (1, K_from, K_to) + (B, 1, K_to) -> logsumexp over K_to -> (B, K_from)
            nxt = (emissions[:, t + 1] + betas[t + 1]).unsqueeze(1)
            step = torch.logsumexp(trans + nxt, dim=2)
            betas[t] = torch.where(mask[:, t + 1].unsqueeze(1), step, end)  # t is the last token -> end
        alpha = torch.stack(alphas, dim=1)  # (B, T, K)
        beta = torch.stack(betas, dim=1)  # (B, T, K)
        log_z = torch.logsumexp(alphas[-1] + end, dim=1)  # (B,)
        probs = torch.exp(alpha + beta - log_z.view(-1, 1, 1))
        return (probs * mask.unsqueeze(2).to(probs.dtype)).to(dtype)
