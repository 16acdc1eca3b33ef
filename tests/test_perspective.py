"""The Perspective-compatible API through Google's own client library (google-api-python-client), against a live
``python app.py``: built from Google's discovery document (from ../shared, pointed at our server with
``client_options``) and from the document our server publishes (``discoveryServiceUrl``), the same calls."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import sys
import uuid
from pathlib import Path

import pytest

from tests.app_process import Server
from tests.conftest import MODEL_LABELS
from toxic.classifier import DEFAULT_ATTRIBUTES

ANSWERED = [DEFAULT_ATTRIBUTES[label] for label in MODEL_LABELS]  # the shipped table, in label order

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("TOXIC_SHARED_DIR") or REPO.parent / "shared") / "perspective"
GOOGLE_DOC = SHARED / "commentanalyzer-v1alpha1.discovery.json"
KEY = "test-key-" + uuid.uuid4().hex[:8]

SENTENCES = ["Thanks for the article. ", "You are a stupid idiot 😀! ", "Cafe\u0301 au lait is nice."]
ATTRIBUTES = {"TOXICITY": "toxic", "IDENTITY_ATTACK": "hate"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("perspective-app")
    server = Server(
        [sys.executable, "app.py"], {"TOXIC_API_KEYS": f"{KEY},another-key"}, workdir, timeout=180
    )
    server.workdir = workdir
    yield server
    server.stop()


def google_client(server):
    from googleapiclient import discovery

    if not GOOGLE_DOC.exists():
        pytest.skip(
            f"Google's discovery document is not at {GOOGLE_DOC} (read from ../shared, never copied here)"
        )
    return discovery.build_from_document(
        GOOGLE_DOC.read_text(), developerKey=KEY, client_options={"api_endpoint": server.url + "/"}
    )


def our_client(server, key: str | None = KEY):
    import httplib2
    from googleapiclient import discovery

    return discovery.build(
        "commentanalyzer",
        "v1alpha1",
        developerKey=key,
        discoveryServiceUrl=server.url + "/$discovery/rest?version=v1alpha1",
        static_discovery=False,
        cache_discovery=False,
        http=None if key else httplib2.Http(),  # no key: a plain transport, not Google's default credentials
    )


@pytest.fixture(params=["google-document", "our-document"])
def comments(request, server):
    client = google_client(server) if request.param == "google-document" else our_client(server)
    return client.comments()


def analyze(comments, text: str, attributes=("TOXICITY",), **fields) -> dict:
    body = {"comment": {"text": text}, "requestedAttributes": {a: {} for a in attributes}, **fields}
    return comments.analyze(body=body).execute()


def http_error(call):
    from googleapiclient.errors import HttpError

    with pytest.raises(HttpError) as info:
        call.execute()
    e = info.value
    return e.resp.status, json.loads(e.content)["error"]


def test_shipped_document_is_googles():
    """The copy the server derives its document from is Google's, byte for byte (sha256 in ../shared)."""
    if not GOOGLE_DOC.exists():
        pytest.skip(
            f"Google's discovery document is not at {GOOGLE_DOC} (read from ../shared, never copied here)"
        )
    shipped = REPO / "toxic" / "serve" / "discovery_data" / GOOGLE_DOC.name
    assert (
        hashlib.sha256(shipped.read_bytes()).hexdigest()
        == hashlib.sha256(GOOGLE_DOC.read_bytes()).hexdigest()
    )


@pytest.mark.parametrize("attribute", list(ATTRIBUTES))
def test_each_attribute_is_the_models_score(comments, clf, attribute):
    text = "you are a disgusting idiot and everyone hates you"
    result = analyze(comments, text, [attribute])
    score = result["attributeScores"][attribute]
    expected = float(clf.predict_proba([text])[0, clf.labels.index(ATTRIBUTES[attribute])])
    assert score["summaryScore"] == {"value": pytest.approx(expected, abs=1e-6), "type": "PROBABILITY"}
    assert score["spanScores"] == [{"begin": 0, "end": len(text), "score": score["summaryScore"]}]
    assert result["detectedLanguages"] == ["en"] and result["languages"] == ["en"]


def test_toxic_and_benign_comments_rank_as_perspective_would(comments):
    both = ["TOXICITY", "IDENTITY_ATTACK"]
    toxic = analyze(comments, "shut up you stupid idiot", both)["attributeScores"]
    benign = analyze(comments, "thank you for the lovely photos", both)["attributeScores"]
    assert toxic["TOXICITY"]["summaryScore"]["value"] > 0.5 > benign["TOXICITY"]["summaryScore"]["value"]
    assert benign["IDENTITY_ATTACK"]["summaryScore"]["value"] < 0.5


def test_span_annotations_per_sentence_in_utf16_units(comments, clf):
    text = "".join(SENTENCES)
    result = analyze(comments, text, ["TOXICITY"], spanAnnotations=True, languages=["en"])
    spans = result["attributeScores"]["TOXICITY"]["spanScores"]
    units = text.encode("utf-16-le")
    pieces = [units[2 * s["begin"] : 2 * s["end"]].decode("utf-16-le") for s in spans]
    assert pieces == SENTENCES  # the emoji counts 2 units, the combining accent 1, as in JavaScript
    assert spans[-1]["end"] == len(units) // 2 != len(text)
    expected = clf.predict_proba([s for s in SENTENCES])[:, clf.labels.index("toxic")]
    assert [s["score"]["value"] for s in spans] == pytest.approx(expected.tolist(), abs=1e-5)
    assert spans[1]["score"]["value"] > 0.5 > spans[0]["score"]["value"]
    # the summary is the comment's score as without spans: the sentences never share its forward pass
    summary = result["attributeScores"]["TOXICITY"]["summaryScore"]["value"]
    assert (
        summary
        == analyze(comments, text, ["TOXICITY"])["attributeScores"]["TOXICITY"]["summaryScore"]["value"]
    )
    assert summary == pytest.approx(float(clf.predict_proba([text])[0, clf.labels.index("toxic")]), abs=1e-6)


def test_score_threshold_leaves_out_lower_scores(comments):
    text = "thank you for the lovely photos. you idiot."
    low = analyze(comments, text, ["TOXICITY"])["attributeScores"]["TOXICITY"]["summaryScore"]["value"]
    body = {
        "comment": {"text": text},
        "requestedAttributes": {"TOXICITY": {"scoreThreshold": min(1, low + 0.01)}, "IDENTITY_ATTACK": {}},
    }
    assert set(comments.analyze(body=body).execute()["attributeScores"]) == {"IDENTITY_ATTACK"}
    body["requestedAttributes"]["TOXICITY"]["scoreThreshold"] = max(0, low - 0.01)
    assert set(comments.analyze(body=body).execute()["attributeScores"]) == {"TOXICITY", "IDENTITY_ATTACK"}


def test_languages(comments):
    result = analyze(comments, "you idiot", languages=["en-US"], clientToken="tok-1")
    assert result["languages"] == ["en-US"] and "detectedLanguages" not in result
    assert result["clientToken"] == "tok-1"
    status, error = http_error(
        comments.analyze(
            body={
                "comment": {"text": "you idiot"},
                "requestedAttributes": {"TOXICITY": {}},
                "languages": ["fr", "de"],
            }
        )
    )
    assert status == 400 and error["status"] == "INVALID_ARGUMENT"
    assert error["message"].startswith("Attribute TOXICITY does not support request languages: fr, de")
    status, error = http_error(
        comments.analyze(
            body={
                "comment": {"text": "Du bist ein dummer Idiot, verschwinde sofort aus diesem Forum"},
                "requestedAttributes": {"TOXICITY": {}},
            }
        )
    )
    assert status == 400 and "does not support request languages: de" in error["message"]
    assert error["details"][0]["errorType"] == "LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE"


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (
            {"comment": {"text": "hi"}, "requestedAttributes": {"SEVERE_TOXICITY": {}}},
            400,
            "Unknown requested attribute: SEVERE_TOXICITY. This server's model answers: "
            + ", ".join(ANSWERED)
            + ".",
        ),
        (
            {"comment": {"text": "  "}, "requestedAttributes": {"TOXICITY": {}}},
            400,
            "Comment must be non-empty.",
        ),
        (
            {"comment": {"text": "a" * 20_001}, "requestedAttributes": {"TOXICITY": {}}},
            400,
            "Comment text too long.",
        ),
        ({"comment": {"text": "hi"}, "requestedAttributes": {}}, 400, "Missing requested_attributes"),
        (
            {"comment": {"text": "hi"}, "requestedAttributes": {"TOXICITY": {"scoreType": "RAW"}}},
            400,
            "Requested score type RAW is not supported by attribute TOXICITY",
        ),
        (
            {
                "comment": {"text": "hi"},
                "requestedAttributes": {"TOXICITY": {}},
                "context": {
                    "entries": [{"text": "a"}],
                    "articleAndParentComment": {"article": {"text": "b"}},
                },
            },
            400,
            "Context can have either entries or article_and_parent_comment, but not both.",
        ),
    ],
)
def test_errors_as_google_gives_them(comments, body, status, message):
    got, error = http_error(comments.analyze(body=body))
    assert (got, error["code"], error["status"]) == (status, status, "INVALID_ARGUMENT")
    assert error["message"].startswith(message)


def test_keys_are_required_once_configured(server):
    status, error = http_error(
        our_client(server, key="wrong").comments().analyze(body={"comment": {"text": "hi"}})
    )
    assert (status, error["status"], error["message"]) == (
        400,
        "INVALID_ARGUMENT",
        "API key not valid. Please pass a valid API key.",
    )
    assert error["details"][0]["reason"] == "API_KEY_INVALID"
    status, error = http_error(
        our_client(server, key=None).comments().analyze(body={"comment": {"text": "hi"}})
    )
    assert (status, error["status"]) == (403, "PERMISSION_DENIED")


def test_suggestscore_saves_a_correction(comments, server):
    text = f"a correction {uuid.uuid4().hex}"
    body = {
        "comment": {"text": text},
        "attributeScores": {
            "TOXICITY": {"summaryScore": {"value": 1.0}},
            "IDENTITY_ATTACK": {"summaryScore": {"value": 0}},
        },
        "clientToken": "tok-2",
        "languages": ["en"],
        "sessionId": "s-1",
    }
    assert comments.suggestscore(body=body).execute() == {
        "requestedLanguages": ["en"],
        "clientToken": "tok-2",
    }
    lines = (server.workdir / "flagged" / "corrections.jsonl").read_text(encoding="utf-8").splitlines()
    record = next(r for r in map(json.loads, lines) if r["text"] == text)
    assert record["source"] == "perspective" and record["labels"] == {"toxic": 1.0, "hate": 0.0}
    assert set(record["scores"]) == set(MODEL_LABELS) and record["extra"]["sessionId"] == "s-1"
    status, error = http_error(
        comments.suggestscore(
            body={"comment": {"text": text}, "attributeScores": {"THREAT": {"summaryScore": {"value": 1}}}}
        )
    )
    assert status == 400 and error["message"].startswith("Unknown requested attribute: THREAT")


def test_do_not_store_keeps_the_comment_out_of_every_file(comments, server):
    kept, secret = f"logged comment {uuid.uuid4().hex}", f"private comment {uuid.uuid4().hex}"
    analyze(comments, secret, doNotStore=True, spanAnnotations=True)
    analyze(comments, kept)
    analyze(comments, secret + ". And a second sentence.", doNotStore=True, spanAnnotations=True)
    log = server.workdir / f"predictions-{server.port}.sqlite"
    with sqlite3.connect(log) as db:
        rows = db.execute("SELECT source, text FROM predictions WHERE text LIKE '%comment %'").fetchall()
    assert ("perspective", kept) in rows
    assert not any(secret[-32:] in (text or "") for _, text in rows)
    for path in server.workdir.rglob("*"):  # nor any other file the server wrote: logs, flags, caches
        if path.is_file():
            assert secret[-32:].encode() not in path.read_bytes(), path
