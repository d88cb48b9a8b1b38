"""The CRF against brute force: every tag path of a tiny example is enumerated."""

from __future__ import annotations

import itertools

import pytest
import torch

from sparktag.ner.crf import CRF

N_TAGS = 3
LENGTHS = [4, 2, 1]  # padded to 4; exercises padding and a one-token sentence


def make_case(seed: int = 0, scale: float = 1.0) -> tuple[CRF, torch.Tensor, torch.Tensor]:
    torch.manual_seed(seed)
    crf = CRF(N_TAGS)
    with torch.no_grad():  # larger than the init so the transitions matter
        crf.transitions.normal_()
        crf.start_transitions.normal_()
        crf.end_transitions.normal_()
    emissions = torch.randn(len(LENGTHS), max(LENGTHS), N_TAGS) * scale  # (B, T, K)
    mask = torch.tensor([[t < n for t in range(max(LENGTHS))] for n in LENGTHS])  # (B, T)
    return crf, emissions, mask


def path_score(crf: CRF, emissions: torch.Tensor, path: tuple[int, ...]) -> float:
    score = crf.start_transitions[path[0]] + emissions[0, path[0]]
    for prev, cur, t in zip(path, path[1:], range(1, len(path)), strict=False):
        score = score + crf.transitions[prev, cur] + emissions[t, cur]
    return float((score + crf.end_transitions[path[-1]]).detach())


def all_paths(length: int) -> list[tuple[int, ...]]:
    return list(itertools.product(range(N_TAGS), repeat=length))


def test_nll_equals_brute_force_enumeration() -> None:
    crf, emissions, mask = make_case()
    gold = torch.randint(0, N_TAGS, mask.shape)
    nll = crf.nll(emissions, gold, mask)  # (B,)
    for b, n in enumerate(LENGTHS):
        scores = torch.tensor([path_score(crf, emissions[b], p) for p in all_paths(n)])
        expected = torch.logsumexp(scores, 0) - path_score(crf, emissions[b], tuple(gold[b, :n].tolist()))
        assert nll[b].item() == pytest.approx(expected.item(), abs=1e-4)
        assert nll[b].item() >= 0


def test_padding_values_do_not_matter() -> None:
    crf, emissions, mask = make_case()
    gold = torch.randint(0, N_TAGS, mask.shape)
    noisy = emissions.clone()
    noisy[~mask] = 1000.0
    gold_noisy = gold.clone()
    gold_noisy[~mask] = N_TAGS - 1
    assert torch.allclose(crf.nll(emissions, gold, mask), crf.nll(noisy, gold_noisy, mask))
    assert crf.viterbi_decode(emissions, mask) == crf.viterbi_decode(noisy, mask)


def test_viterbi_equals_brute_force_argmax() -> None:
    for seed in range(5):
        crf, emissions, mask = make_case(seed)
        decoded = crf.viterbi_decode(emissions, mask)
        for b, n in enumerate(LENGTHS):
            scores = {p: path_score(crf, emissions[b], p) for p in all_paths(n)}
            best = max(scores, key=scores.__getitem__)
            assert tuple(decoded[b]) == best


def test_marginals_sum_to_one_and_match_brute_force() -> None:
    crf, emissions, mask = make_case()
    probs = crf.marginals(emissions, mask)  # (B, T, K)
    assert probs.shape == (len(LENGTHS), max(LENGTHS), N_TAGS)
    for b, n in enumerate(LENGTHS):
        assert torch.allclose(probs[b, :n].sum(-1), torch.ones(n), atol=1e-5)
        assert torch.all(probs[b, n:] == 0)
        paths = all_paths(n)
        weights = torch.softmax(torch.tensor([path_score(crf, emissions[b], p) for p in paths]), 0)
        expected = torch.zeros(n, N_TAGS)
        for w, p in zip(weights, paths, strict=True):
            for t, tag in enumerate(p):
                expected[t, tag] += w
        assert torch.allclose(probs[b, :n], expected, atol=1e-5)


def test_numerically_stable_with_large_scores() -> None:
    crf, emissions, mask = make_case(scale=1e4)
    gold = torch.zeros(mask.shape, dtype=torch.long)
    assert torch.isfinite(crf.nll(emissions, gold, mask)).all()
    probs = crf.marginals(emissions, mask)
    assert torch.isfinite(probs).all()
    assert torch.allclose(probs.sum(-1)[mask], torch.ones(int(mask.sum())), atol=1e-4)


def test_gradients_reach_every_parameter() -> None:
    crf, emissions, mask = make_case()
    emissions.requires_grad_()
    crf.nll(emissions, torch.randint(0, N_TAGS, mask.shape), mask).sum().backward()
    assert emissions.grad is not None and emissions.grad[~mask].abs().sum() == 0
    for p in crf.parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0
