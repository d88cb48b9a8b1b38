"""Hostile requests to ``mlflow models serve`` on a sparktag model: a 4xx that says what to send, and the server
keeps serving.

Malformed JSON, bytes that are not UTF-8, a body that is not an object, a missing ``text`` column, numbers,
nulls, booleans and nested lists where texts belong, an empty list: each gets a 4xx with a message, and the
next valid request still gets its entities.

A 1 MB text is valid input and gets a 200 with every entity: the pipeline is linear in the text's length
(about 30 s for 1 MB with the tiny test model on a busy 2-core machine), and the server answers other requests
while it works. Refusing it would put an arbitrary cap on legitimate documents (Spark NLP has none; its only
limit is per sentence, ``maxLength``); the time a deployment allows per request is MLflow's
``MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT`` (a 504 past it), and a size cap belongs in the proxy in front.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
import urllib.error
import urllib.request

import pytest

from servers import SENTENCE, ModelServer, entities

pytestmark = [pytest.mark.spark, pytest.mark.slow]

# The server's own limit per request: MLflow's default (60 s) is too tight for 1 MB on a busy 2-core CI box.
REQUEST_TIMEOUT_S = 300
BIG_TEXT_BOUND_S = 240  # a 1 MB text takes about 30 s here; quadratic code took minutes to hours


def post(url: str, body: bytes | str, timeout: float = 60) -> tuple[int, dict, float]:
    """(HTTP status, JSON answer, seconds) of one POST; an answer that is not JSON comes back as its text."""
    data = body.encode() if isinstance(body, str) else body
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as err:
        status, raw = err.code, err.read()
    try:
        answer = json.loads(raw or b"{}")
    except ValueError:
        answer = {"message": raw.decode(errors="replace")}
    return status, answer, time.monotonic() - started


@pytest.fixture(scope="module")
def server(registered):
    uri, tmp = registered
    timeout = {"MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT": str(REQUEST_TIMEOUT_S)}
    served = ModelServer("models:/served_ner@champion", uri, tmp, env=timeout, name="hostile_server")
    yield served.url + "/invocations", served.process
    served.close()


def assert_still_serving(url: str, proc: subprocess.Popen, expected: list[dict]) -> None:
    assert proc.poll() is None, "the server died"
    status, answer, _ = post(url, json.dumps({"inputs": [SENTENCE]}))
    assert status == 200, answer
    assert entities(answer["predictions"]) == entities(expected)


TELL_WHAT_TO_SEND = 'every row must be one text, e.g. {"inputs": ["first text", "second text"]}'
NO_TEXT_COLUMN = """send {"dataframe_records": [{"text": "..."}]} or {"inputs": ["..."]}"""

BAD_REQUESTS = {
    # what MLflow's scoring server answers before the model sees anything
    "truncated JSON": ('{"dataframe_records": [{"text": ', "Ensure that input is a valid JSON formatted string"),
    "not JSON": ("Maria works in Lisbon.", "Ensure that input is a valid JSON formatted string"),
    "empty body": ("", "Ensure that input is a valid JSON formatted string"),
    "not UTF-8": (b'{"inputs": ["Lisbon \xff"]}', "Ensure that input is a valid JSON formatted string"),
    "a bare list": ('["Maria works in Lisbon."]', "must be a JSON dictionary with exactly one of the input fields"),
    "no input field": ('{"texts": ["Maria"]}', "must be a JSON dictionary with exactly one of the input fields"),
    "inputs null": ('{"inputs": null}', "expects a single n-dimensional array or a single value"),
    # an empty batch: MLflow's schema check refuses it ("the model declares 1 input, the value has 0")
    "empty inputs": ('{"inputs": []}', "Model inference is missing inputs"),
    "empty records": ('{"dataframe_records": []}', "Model inference is missing inputs"),
    # sparktag's checks (SparktagModel.predict -> _texts)
    "no text column": ('{"dataframe_records": [{"txt": "Maria"}]}', "the input has no 'text' column (columns: ['txt']); " + NO_TEXT_COLUMN),
    "split without text": ('{"dataframe_split": {"columns": ["body"], "data": [["Maria"]]}}', "no 'text' column (columns: ['body'])"),
    "records of other keys": ('{"inputs": [{"body": "Maria"}]}', "no 'text' column (columns: ['body'])"),
    "a number": ('{"inputs": [42]}', "row 0 of 'text' is int (42), not a string; " + TELL_WHAT_TO_SEND),
    "a null": ('{"inputs": [null]}', "row 0 of 'text' is NoneType (None), not a string"),
    "a boolean": ('{"inputs": ["Maria", true]}', "row 1 of 'text' is bool (True), not a string"),
    "a float among texts": ('{"inputs": ["Maria", "Lisbon", 4.5]}', "row 2 of 'text' is float (4.5), not a string"),
    "a nested list": ('{"inputs": ["Maria", ["Lisbon", "Porto"]]}', "row 1 of 'text' is list (['Lisbon', 'Porto'])"),
    "a record's number": ('{"dataframe_records": [{"text": 42}]}', "row 0 of 'text' is int (42), not a string"),
    "a record's null": ('{"dataframe_records": [{"text": "Maria"}, {"text": null}]}', "row 1 of 'text' is NoneType"),
    "a record's list": ('{"dataframe_records": [{"text": ["Maria"]}]}', "row 0 of 'text' is list (['Maria'])"),
    "a record's object": ('{"dataframe_records": [{"text": {"a": 1}}]}', "row 0 of 'text' is dict ({'a': 1})"),
    "a record without text": ('{"dataframe_records": [{"text": "Maria"}, {"id": 1}]}', "row 1 of 'text' is float (nan)"),
    "split with a number": ('{"dataframe_split": {"columns": ["text"], "data": [[7]]}}', "row 0 of 'text' is int (7)"),
}  # fmt: skip


def _bad_request_cases() -> list:
    import mlflow
    from packaging.version import Version

    cases = []
    for case in BAD_REQUESTS:
        marks = []
        if case == "not UTF-8" and Version(mlflow.__version__) < Version("3.17"):
            # seen with make test-lowest: the body is decoded by MLflow's server before any flavor code runs
            marks = [pytest.mark.xfail(reason="MLflow 3.12.0's scoring server answers bytes that are not UTF-8 "
                                       "with a 500 (3.17.2: a 400)", strict=False)]  # fmt: skip
        cases.append(pytest.param(case, marks=marks))
    return cases


@pytest.mark.parametrize("case", _bad_request_cases())
def test_bad_request_gets_a_4xx_that_says_what_to_send(server, expected, case):
    url, proc = server
    body, message = BAD_REQUESTS[case]
    status, answer, elapsed = post(url, body)
    assert 400 <= status < 500, (status, answer)
    assert message in answer.get("message", ""), answer
    assert elapsed < 30
    assert_still_serving(url, proc, expected)


def test_formats_that_hold_texts_get_entities(server, expected):
    url, _ = server
    bodies = [
        {"inputs": [SENTENCE]},
        {"inputs": SENTENCE},
        {"inputs": [{"text": SENTENCE}]},  # MLflow hands each value over as a 0-d array: read as the text
        {"instances": [SENTENCE]},
        {"dataframe_records": [{"text": SENTENCE, "id": 7}]},
        {"dataframe_split": {"columns": ["text"], "data": [[SENTENCE]]}},
    ]
    for body in bodies:
        status, answer, _ = post(url, json.dumps(body))
        assert status == 200, (body, answer)
        assert entities(answer["predictions"]) == entities(expected), body


def test_control_chars_and_lone_surrogates_get_entities(server, expected):
    """JSON may carry "\\ud800" (a lone surrogate): the BERT stage used to refuse it with a bare TypeError (a
    400 "unexpected error"); it now reads it as an unknown char."""
    url, proc = server
    texts = [SENTENCE, "\ud800", "\x00\x07 \u2028\ufeff", SENTENCE.replace("Steel", "Steel\udcff"), ""]
    status, answer, _ = post(url, json.dumps({"inputs": texts}))  # json.dumps writes "\udcff" as an escape
    assert status == 200, answer
    predictions = answer["predictions"]
    assert len(predictions) == len(texts)
    assert entities(predictions[:1]) == entities(expected)
    for i, chunk, _, begin, end in entities(predictions):
        assert texts[i][begin : end + 1] == chunk
    assert_still_serving(url, proc, expected)


def test_a_1mb_text_gets_every_entity_and_the_server_keeps_serving(server, expected):
    url, proc = server
    unit = SENTENCE + " "
    copies = 1_000_000 // len(unit) + 1
    text = unit * copies  # 1 MB: 12,659 sentences, 190,000 tokens
    big: dict[str, tuple[int, dict, float]] = {}
    worker = threading.Thread(target=lambda: big.update(answer=post(url, json.dumps({"inputs": [text]}), BIG_TEXT_BOUND_S)))  # fmt: skip
    worker.start()
    time.sleep(2)
    status, answer, elapsed = post(url, json.dumps({"inputs": [SENTENCE]}))  # while the big one runs
    assert status == 200 and entities(answer["predictions"]) == entities(expected)
    assert elapsed < 30, f"a one-sentence request waited {elapsed:.0f} s behind the 1 MB one"
    worker.join(BIG_TEXT_BOUND_S + 10)
    status, answer, elapsed = big["answer"]
    assert status == 200, answer
    assert elapsed < BIG_TEXT_BOUND_S
    # every copy of the sentence has the sentence's entities, at its own offsets
    found = [
        (begin // len(unit), begin % len(unit), end % len(unit), chunk, entity)
        for _, chunk, entity, begin, end in entities(answer["predictions"])
    ]
    one = [(begin, end, chunk, entity) for _, chunk, entity, begin, end in entities(expected)]
    assert sorted(found) == [(copy, *e) for copy in range(copies) for e in sorted(one)]
    assert_still_serving(url, proc, expected)


def test_1mb_of_unclosed_quotes_is_answered_fast(server, expected):
    """Spark NLP's single-quote rule was quadratic: 1 MB of "'s " held a worker for about an hour."""
    url, proc = server
    status, answer, elapsed = post(url, json.dumps({"inputs": ["'s " * 350_000]}), timeout=120)
    assert status == 200, answer
    assert answer["predictions"] == [{"entities": []}]  # one 1 MB sentence: over maxLength (99999), dropped
    assert elapsed < 60
    assert_still_serving(url, proc, expected)
