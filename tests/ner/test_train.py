"""The training loop, with real (tiny) trainings on a synthetic NER dataset."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

from sparktag.ner.data import NerExample
from sparktag.ner.events import (
    BatchEnded,
    EpochEnded,
    EpochStarted,
    StopTraining,
    TestTagged,
    TrainingEnded,
    TrainingStarted,
)
from sparktag.ner.train import TrainResult, train

from synthetic import (
    DATA,
    DIM,
    UNSEEN_WORDS,
    Failing,
    Recorder,
    ScriptedScores,
    local_evaluate,
    make_cased_dataset,
    quick,
    same_weights,
)


def test_learns_the_training_set() -> None:
    result = train(DATA, quick(max_epochs=15), test=DATA, evaluate=local_evaluate)
    final = result.history[-1].test
    assert final is not None and final.examples == len(DATA)
    assert final.entity.micro_f1 > 0.97
    assert final.token.micro_f1 > 0.97
    assert result.history[-1].loss < result.history[0].loss / 5
    assert result.tags == ["O", "B-LOC", "B-ORG", "B-PER", "I-PER"]
    assert not result.model.training


def test_same_seed_is_reproducible_and_another_seed_is_not() -> None:
    runs = [train(DATA, quick(random_seed=seed), test=DATA, evaluate=local_evaluate) for seed in (3, 3, 4)]
    assert same_weights(runs[0], runs[1])
    losses = [[e.loss for e in r.history] for r in runs]
    assert losses[0] == losses[1]
    scores = [[e.test.token.per_label if e.test else None for e in r.history] for r in runs]
    assert scores[0] == scores[1]
    assert not same_weights(runs[0], runs[2])
    assert losses[0] != losses[2]


def test_training_leaves_the_global_rng_alone_and_records_a_drawn_seed() -> None:
    torch.manual_seed(99)
    before = torch.get_rng_state()
    recorder = Recorder()
    result = train(DATA, quick(random_seed=None, max_epochs=1), listeners=[recorder])
    assert torch.equal(torch.get_rng_state(), before)
    started = recorder.events[0]
    assert isinstance(started, TrainingStarted) and started.params["random_seed"] == result.seed
    again = train(DATA, quick(random_seed=result.seed, max_epochs=1))
    assert same_weights(result, again)


def test_events_come_in_order_with_correct_counts() -> None:
    recorder = Recorder()
    config = quick(max_epochs=3, lr=0.02, po=0.5, batch_size=10)
    result = train(DATA, config, test=DATA[:10], evaluate=local_evaluate, listeners=[recorder])
    batches = math.ceil(len(DATA) / 10)
    kinds = [type(e).__name__ for e in recorder.events]
    per_epoch = ["EpochStarted"] + ["BatchEnded"] * batches + ["EpochEnded"]
    assert kinds == ["TrainingStarted", *per_epoch * 3, "TestTagged", "TrainingEnded"]

    started = recorder.events[0]
    assert isinstance(started, TrainingStarted)
    assert started.total_epochs == 3 and started.batch_size == 10 and started.lr == 0.02
    assert started.labels == result.tags and started.training_examples == len(DATA)
    assert started.chars == result.char_vocab.size and started.graph == f"blstm_5_{DIM}_16_{started.chars}"
    assert started.params["po"] == 0.5 and started.params["lstm_hidden"] == 16

    epochs = [e for e in recorder.events if isinstance(e, EpochStarted)]
    assert [e.epoch for e in epochs] == [1, 2, 3]
    assert [e.lr for e in epochs] == pytest.approx([0.02, 0.02 / 1.5, 0.02 / 2.0])  # lr / (1 + po * epoch)
    assert all(e.dataset_size == len(DATA) for e in epochs)

    ends = [e for e in recorder.events if isinstance(e, EpochEnded)]
    assert ends == result.history
    for end in ends:
        losses = [e.loss for e in recorder.events if isinstance(e, BatchEnded) and e.epoch == end.epoch]
        numbers = [e.batch for e in recorder.events if isinstance(e, BatchEnded) and e.epoch == end.epoch]
        assert numbers == list(range(1, batches + 1)) and end.batches == batches
        assert end.loss == pytest.approx(sum(losses))
        assert end.validation is None and end.test is not None and end.test.examples == 10
        assert end.elapsed_s > 0
    last = recorder.events[-1]
    assert isinstance(last, TrainingEnded) and last.epochs == 3 and last.best_epoch is None


def test_the_test_set_is_tagged_once_more_with_the_kept_weights() -> None:
    """TestTagged: after the last epoch, the test data tagged by the weights training kept (the best epoch's with
    use_best_model), with each tag's CRF marginal as its confidence; no event without test data."""
    recorder = Recorder()
    config = quick(max_epochs=4, use_best_model=True)
    scripted = ScriptedScores([0.5, 0, 0.9, 0, 0.4, 0, 0.3, 0])  # validation, then test, each epoch
    test = DATA[:12]
    result = train(DATA, config, validation=DATA[:8], test=test, evaluate=scripted, listeners=[recorder])
    assert result.best_epoch == 2
    tagged = [e for e in recorder.events if isinstance(e, TestTagged)]
    assert len(tagged) == 1 and recorder.events[-2] is tagged[0]
    event = tagged[0]
    assert event.words == [e.tokens for e in test] and event.gold == [e.tags for e in test]
    assert event.pred == result.tagger.predict_tags(test)  # the kept (epoch 2) weights, not epoch 4's
    assert event.pred != train(DATA, quick(max_epochs=4)).tagger.predict_tags(test)
    confidences = [c for sentence in event.confidence for c in sentence]
    assert [len(c) for c in event.confidence] == [len(e.tokens) for e in test]
    assert all(isinstance(c, float) and 0.0 < c <= 1.0 for c in confidences)
    assert event.elapsed_s > 0
    no_test = Recorder()
    train(DATA, quick(max_epochs=1), listeners=[no_test])
    assert not any(isinstance(e, TestTagged) for e in no_test.events)


def test_a_failing_listener_is_warned_about_once_and_dropped() -> None:
    failing, recorder = Failing(), Recorder()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = train(DATA, quick(max_epochs=2), listeners=[failing, recorder])
    messages = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert len(messages) == 1 and "Failing raised RuntimeError('disk full')" in messages[0]
    assert failing.calls == 3  # TrainingStarted, EpochStarted, the first BatchEnded
    assert isinstance(recorder.events[-1], TrainingEnded) and len(result.history) == 2
    assert same_weights(result, train(DATA, quick(max_epochs=2)))


class StopAfter:
    """Asks the loop to stop (StopTraining) at the end of epoch ``epoch``."""

    def __init__(self, epoch: int) -> None:
        self.epoch, self.calls = epoch, 0

    def on_event(self, event: object) -> None:
        self.calls += 1
        if isinstance(event, EpochEnded) and event.epoch == self.epoch:
            raise StopTraining(f"pruned at epoch {event.epoch}")


def test_a_listener_stops_training_after_the_epoch_and_keeps_the_best_weights() -> None:
    stopper, recorder = StopAfter(3), Recorder()
    config = quick(max_epochs=10, use_best_model=True)
    scripted = ScriptedScores([0.5, 0.9, 0.4, 0.95])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a stop request is not a failing listener: no warning
        result = train(DATA, config, validation=DATA[:8], evaluate=scripted, listeners=[stopper, recorder])
    assert len(result.history) == 3 and result.best_epoch == 2
    ended = [e for e in recorder.events if isinstance(e, EpochEnded)]
    assert [e.epoch for e in ended] == [1, 2, 3]  # the other listener still heard epoch 3
    last = recorder.events[-1]
    assert isinstance(last, TrainingEnded) and last.epochs == 3 and last.best_epoch == 2
    assert stopper.calls == len(recorder.events)  # the stopper was not dropped
    assert same_weights(result, train(DATA, quick(max_epochs=2)))


def test_validation_split_holds_out_a_seeded_fraction() -> None:
    recorder = Recorder()
    result = train(
        DATA, quick(validation_split=0.25, max_epochs=2), evaluate=local_evaluate, listeners=[recorder]
    )
    started = recorder.events[0]
    assert isinstance(started, TrainingStarted) and started.training_examples == 48
    for end in result.history:
        assert end.validation is not None and end.test is None
        assert end.validation.examples == 16 and end.validation.fraction == 0.25
        assert end.batches == 6
    again = train(DATA, quick(validation_split=0.25, max_epochs=2), evaluate=local_evaluate)
    assert same_weights(result, again)


def test_scoring_without_an_evaluate_function_is_an_error() -> None:
    with pytest.raises(ValueError, match="needs an evaluate"):
        train(DATA, quick(validation_split=0.2))
    with pytest.raises(ValueError, match="both validation data and validation_split=0.2"):
        train(DATA, quick(validation_split=0.2), validation=DATA, evaluate=local_evaluate)
    with pytest.raises(ValueError, match="training example 1 has no tags"):
        train([DATA[0], NerExample(["x"], np.zeros((1, DIM), np.float32))], quick())
    with pytest.raises(ValueError, match="dimension 3 .* the first training example has dim 16"):
        train([DATA[0], NerExample(["x"], np.zeros((1, 3), np.float32), ["O"])], quick())


def test_early_stopping_and_use_best_model_restore_the_best_epoch() -> None:
    recorder = Recorder()
    config = quick(max_epochs=10, early_stopping_patience=2, use_best_model=True)
    scripted = ScriptedScores([0.5, 0.9, 0.4, 0.3, 0.95])
    result = train(DATA, config, validation=DATA[:8], evaluate=scripted, listeners=[recorder])
    assert len(result.history) == 4  # best at 2, no improvement at 3 and 4
    assert result.best_epoch == 2
    last = recorder.events[-1]
    assert isinstance(last, TrainingEnded) and last.epochs == 4 and last.best_epoch == 2
    # Evaluation consumes no randomness, so a 2-epoch run has exactly the weights of epoch 2.
    two_epochs = train(DATA, quick(max_epochs=2))
    assert same_weights(result, two_epochs)
    assert not same_weights(result, train(DATA, quick(max_epochs=4)))


def test_early_stopping_waits_for_min_epochs() -> None:
    config = quick(max_epochs=10, min_epochs=6, early_stopping_patience=2)
    result = train(DATA, config, validation=DATA[:8], evaluate=ScriptedScores([0.5, 0.9, 0.4, 0.3, 0.95]))
    assert len(result.history) == 7  # improves at 5, then 6 and 7 do not; 7 >= min_epochs
    assert result.best_epoch is None  # weights of the last epoch kept


def test_use_best_model_without_scores_follows_the_training_loss() -> None:
    result = train(DATA, quick(max_epochs=4, use_best_model=True))
    losses = [e.loss for e in result.history]
    assert result.best_epoch == int(np.argmin(losses)) + 1


def test_streamed_chunks_train_like_the_in_memory_list() -> None:
    one_chunk = train(lambda: iter([DATA]), quick(max_epochs=2))
    assert same_weights(one_chunk, train(DATA, quick(max_epochs=2)))

    calls = []

    def factory():
        calls.append(1)
        return (DATA[i : i + 20] for i in range(0, len(DATA), 20))  # chunks of 20, 20, 20, 4

    recorder = Recorder()
    result = train(
        factory, quick(max_epochs=2, validation_split=0.25), evaluate=local_evaluate, listeners=[recorder]
    )
    started = recorder.events[0]
    assert isinstance(started, TrainingStarted) and started.training_examples == 15 + 15 + 15 + 3
    total = {e.total_batches for e in recorder.events if isinstance(e, BatchEnded)}
    assert total == {2 + 2 + 2 + 1}  # each chunk batched on its own
    assert all(e.batches == 7 and e.validation and e.validation.examples == 16 for e in result.history)
    assert len(calls) == 1 + 2 * 2  # one scan, then per epoch one training pass and one validation pass


def test_a_stream_that_changes_between_passes_is_an_error() -> None:
    sizes = iter([[20, 20], [20, 19]])

    def factory():
        return (DATA[:n] for n in next(sizes))

    with pytest.raises(ValueError, match="chunk 1 has 19 examples, the first pass had 20"):
        train(factory, quick(max_epochs=1))


# -- the casing feature (casing_dim): what it lets the network learn -----------------------------------------


def token_accuracy(result: TrainResult, examples: list[NerExample]) -> float:
    predicted = result.tagger.predict_tags(examples)
    pairs = [
        (p, g)
        for tags, e in zip(predicted, examples, strict=True)
        for p, g in zip(tags, e.tags or [], strict=True)
    ]
    return sum(p == g for p, g in pairs) / len(pairs)


def test_casing_learns_what_uncased_word_vectors_cannot_show() -> None:
    """Tags decided by capitalisation alone, word vectors without case, no char features: with the casing
    embedding the network learns the task, without it it sees "Apple" as "apple" and stays at chance."""
    train_data = make_cased_dataset(64, seed=1)
    test_data = make_cased_dataset(100, seed=2)  # ~525 tokens, half of them O
    unseen = make_cased_dataset(100, seed=3, words=UNSEEN_WORDS)
    majority = sum(t == "O" for e in test_data for t in e.tags or []) / sum(len(e.tokens) for e in test_data)
    assert 0.45 < majority < 0.55
    shape = {"char_cnn_filters": 0, "lstm_hidden": 8, "dropout": 1.0, "lr": 0.02, "max_epochs": 10}
    on = train(train_data, quick(**shape, casing_dim=4))
    off = train(train_data, quick(**shape, casing_dim=0))
    assert on.model.config.casing_dim == 4 and off.model.casing_embedding is None

    # measured with random_seed 1-4 and 7: on 1.000 and 1.000; off 0.40-0.45 and 0.46-0.50 (majority 0.50)
    assert token_accuracy(on, test_data) > 0.97
    assert token_accuracy(on, unseen) > 0.97  # the case of words it never saw
    assert token_accuracy(off, test_data) < majority + 0.05
    assert token_accuracy(off, unseen) < majority + 0.05
    # the reason: without casing, a sentence's input does not depend on its case
    vectors = test_data[0].embeddings[:3]
    lower, upper = (NerExample(["Apple", c, "Music"], vectors) for c in ("river", "RIVER"))
    assert len(set(map(tuple, off.tagger.predict_tags([lower, upper])))) == 1
    assert on.tagger.predict_tags([lower, upper]) == [["B-PER", "O", "B-PER"], ["B-PER", "B-ORG", "B-PER"]]
