"""``mlflow models serve -m models:/NAME@champion --env-manager local``: entities over HTTP (one prediction per
text by default, one row per entity with ``"params": {"output": "flat"}``), and no JVM."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request

import pytest

from servers import SENTENCE, ModelServer, entities

pytestmark = [pytest.mark.spark, pytest.mark.slow]


def post(url: str, body: bytes | str) -> tuple[int, dict]:
    data = body.encode() if isinstance(body, str) else body
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def process_tree(pid: int) -> list[tuple[int, str]]:
    """(pid, command line) of ``pid`` and every process below it, read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="utf-8") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        child = todo.pop()
        try:
            with open(f"/proc/{child}/cmdline", "rb") as f:
                out.append((child, f.read().replace(b"\0", b" ").decode(errors="replace")))
        except OSError:
            continue
        todo.extend(children.get(child, []))
    return out


@pytest.fixture(scope="module")
def server(registered):
    uri, tmp = registered
    served = ModelServer("models:/served_ner@champion", uri, tmp)
    yield served.url, served.process
    served.close()


def flat_entities(rows: list[dict]) -> list[tuple]:
    """The same tuples from an ``"output": "flat"`` answer (one row per entity)."""
    return [(r["text_index"], r["chunk"], r["entity"], r["begin"], r["end"]) for r in rows]


def test_records_and_inputs_give_entities(server, expected):
    base, _ = server
    status, body = post(base + "/invocations", json.dumps({"dataframe_records": [{"text": SENTENCE}]}))
    assert status == 200, body
    assert entities(body["predictions"]) == entities(expected)
    assert all(0.0 <= e["confidence"] <= 1.0 for p in body["predictions"] for e in p["entities"])
    status, body = post(base + "/invocations", json.dumps({"inputs": [SENTENCE, "", "Dakar", SENTENCE]}))
    assert status == 200, body
    predictions = body["predictions"]
    assert len(predictions) == 4 and predictions[1] == {"entities": []}  # one prediction per text, in order
    assert entities(predictions[:1]) == entities(predictions[3:]) == entities(expected)


def test_flat_output_gives_one_row_per_entity(server, expected):
    """``"params": {"output": "flat"}``: the entity table, each row naming its text; a layout that does not
    exist is a 400 that names the two that do."""
    base, _ = server
    texts = [SENTENCE, "", "Dakar", SENTENCE]
    status, nested = post(base + "/invocations", json.dumps({"inputs": texts}))
    assert status == 200, nested
    status, body = post(base + "/invocations", json.dumps({"inputs": texts, "params": {"output": "flat"}}))
    assert status == 200, body
    rows = body["predictions"]
    assert flat_entities(rows) == entities(nested["predictions"])  # the same entities, one row each
    assert {r["text_index"] for r in rows} >= {0, 3}
    assert [r["confidence"] for r in rows] == [
        e["confidence"] for p in nested["predictions"] for e in p["entities"]
    ]
    for row in rows:
        assert texts[row["text_index"]][row["begin"] : row["end"] + 1] == row["chunk"]
    records = {"dataframe_records": [{"text": SENTENCE}], "params": {"output": "flat"}}
    status, body = post(base + "/invocations", json.dumps(records))
    assert status == 200 and flat_entities(body["predictions"]) == entities(expected), body
    status, body = post(
        base + "/invocations", json.dumps({"inputs": [SENTENCE], "params": {"output": "table"}})
    )
    assert status == 400 and "{'output': 'table'} is not an output layout" in body.get("message", ""), body


def test_bad_requests_get_4xx_and_the_server_keeps_serving(server, expected):
    base, proc = server
    status, body = post(base + "/invocations", '{"dataframe_records": [{"text": ')
    assert 400 <= status < 500, body
    status, body = post(base + "/invocations", json.dumps({"dataframe_records": [{"txt": SENTENCE}]}))
    assert 400 <= status < 500 and "no 'text' column" in body.get("message", ""), body
    status, body = post(base + "/invocations", json.dumps({"dataframe_records": [{"text": 42}]}))
    assert 400 <= status < 500, body
    assert proc.poll() is None
    status, body = post(base + "/invocations", json.dumps({"inputs": [SENTENCE]}))
    assert status == 200 and entities(body["predictions"]) == entities(expected)


def test_server_starts_no_jvm(server):
    _, proc = server
    tree = process_tree(proc.pid)
    assert any("mlflow" in cmd or "uvicorn" in cmd for _, cmd in tree), tree
    assert not [cmd for _, cmd in tree if "java" in cmd.split(" ", 1)[0] or "SparkSubmit" in cmd], tree
