"""The Perspective-compatible API over raw HTTP: malformed bodies and headers, keys, the rate limit, HTML comments,
and the parts under it (UTF-16 offsets, HTML stripping, language identification, the model's attribute table).
Every answer, right or wrong, is JSON in Google's shape; nothing is a 500."""

from __future__ import annotations

import dataclasses
import json
import time

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import MODEL_LABELS, free_port
from toxic.classifier import DEFAULT_ATTRIBUTES, read_info
from toxic.errors import ModelError, ToxicError
from toxic.language import detect
from toxic.serve.perspective import perspective_router
from toxic.serve.perspective_text import Comment, strip_html
from toxic.serve.server import BackgroundServer
from toxic.serve.service import Service
from toxic.settings import Settings

KEY = "k-123"
ANALYZE = "/v1alpha1/comments:analyze"


def serve(settings: Settings, clf) -> BackgroundServer:
    api = FastAPI()
    api.include_router(perspective_router(Service(settings, classifier=clf)))
    return BackgroundServer(api, "127.0.0.1", free_port()).start()


@pytest.fixture(scope="module")
def http(clf, tmp_path_factory):
    """The API alone with keys and a small comment limit (200 bytes), and the rate-limited one beside it."""
    state = tmp_path_factory.mktemp("perspective-http")
    base = dataclasses.replace(
        Settings.from_env(),
        log="off",
        flag_dir=state / "flags",
        perspective_max_bytes=200,
        api_keys=frozenset({KEY}),
    )
    servers = [serve(base, clf), serve(dataclasses.replace(base, api_rate=2.0), clf)]
    with httpx.Client(base_url=servers[0].url, timeout=30, params={"key": KEY}) as client:
        client.limited_url = servers[1].url
        yield client
    for s in servers:
        s.stop()


def error_of(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) <= {"code", "message", "status", "details"} and error["code"] == status
    return error


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "Invalid JSON payload received."),
        (b"{not json", "Invalid JSON payload received."),
        (b"\xff\xfe\x00", "Invalid JSON payload received."),
        (b"[1, 2]", "Invalid JSON payload received. Invalid value at 'body'"),
        (b'"text"', "Invalid JSON payload received. Invalid value at 'body'"),
        (b'{"comment": "hi"}', "Invalid JSON payload received. Invalid value at 'comment'"),
        (b'{"comment": {"text": 5}}', "Invalid value at 'comment.text' (TYPE_STRING), 5"),
        (
            b'{"comment": {"text": "hi", "lang": "en"}}',
            "Unknown name \"lang\" at 'comment': Cannot find field.",
        ),
        (b'{"coment": {"text": "hi"}}', 'Unknown name "coment": Cannot find field.'),
        (
            b'{"comment": {"text": "hi"}, "requestedAttributes": ["TOXICITY"]}',
            "Invalid value at 'requestedAttributes'",
        ),
        (
            b'{"comment": {"text": "hi"}, "requestedAttributes": {"TOXICITY": 1}}',
            "Invalid value at 'requestedAttributes[TOXICITY]'",
        ),
        (
            b'{"comment": {"text": "hi"}, "requestedAttributes": {"TOXICITY": {"scoreThreshold": "x"}}}',
            "Invalid value at 'requestedAttributes[TOXICITY].scoreThreshold' (TYPE_FLOAT)",
        ),
        (
            b'{"comment": {"text": "hi"}, "requestedAttributes": {"TOXICITY": {"scoreThreshold": 2}}}',
            "score_threshold for TOXICITY must be from 0 to 1",
        ),
        (
            b'{"comment": {"text": "hi"}, "requestedAttributes": {"TOXICITY": {"scoreType": "LOUD"}}}',
            "Invalid value at 'requested_attributes[TOXICITY].score_type'",
        ),
        (
            b'{"comment": {"text": "hi"}, "requestedAttributes": {"TOXICITY": {}}, "languages": "en"}',
            "Invalid value at 'languages'",
        ),
        (
            b'{"comment": {"text": "hi"}, "requestedAttributes": {"TOXICITY": {}}, "languages": ["english!"]}',
            "Invalid language code",
        ),
        (
            b'{"comment": {"text": "hi"}, "requestedAttributes": {"TOXICITY": {}}, "doNotStore": "yes"}',
            "Invalid value at 'doNotStore' (TYPE_BOOL)",
        ),
        (
            b'{"comment": {"text": "hi", "type": "MARKDOWN"}, "requestedAttributes": {"TOXICITY": {}}}',
            "Unknown text type",
        ),
        (b'{"requestedAttributes": {"TOXICITY": {}}}', "Comment must be non-empty."),
        (
            b'{"comment": {"text": "<p> </p>", "type": "HTML"}, "requestedAttributes": {"TOXICITY": {}}}',
            "Comment must be non-empty.",
        ),
        (
            b'{"comment": {"text": "hi"}, "requestedAttributes": {"TOXICITY": {"scoreThreshold": NaN}}}',
            "Invalid value",
        ),
    ],
)
def test_malformed_bodies_are_400_in_googles_shape(http, raw, message):
    error = error_of(http.post(ANALYZE, content=raw), 400)
    assert error["status"] == "INVALID_ARGUMENT" and message in error["message"]


def test_limits_on_text_and_body(http):
    at_limit = {"comment": {"text": "é" * 100}, "requestedAttributes": {"TOXICITY": {}}, "languages": ["en"]}
    assert http.post(ANALYZE, json=at_limit).status_code == 200  # 200 bytes of UTF-8, 100 characters
    at_limit["comment"]["text"] += "a"
    assert error_of(http.post(ANALYZE, json=at_limit), 400)["message"].startswith("Comment text too long.")
    huge = b'{"comment": {"text": "' + b"a" * (2**20 + 10) + b'"}}'
    assert (
        "Request payload size exceeds the limit" in error_of(http.post(ANALYZE, content=huge), 400)["message"]
    )


def test_snake_case_any_content_type_and_html(http, clf):
    body = {
        "comment": {"text": "<p>Thanks &amp; welcome.</p><p>You <b>stupid</b> idiot!</p>", "type": "HTML"},
        "requested_attributes": {"TOXICITY": {}},
        "span_annotations": True,
        "client_token": "c",
    }
    # curl -d sends application/x-www-form-urlencoded unless told otherwise: the body is still JSON
    got = http.post(
        ANALYZE, content=json.dumps(body), headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert got.status_code == 200, got.text
    result = got.json()
    spans = result["attributeScores"]["TOXICITY"]["spanScores"]
    assert [body["comment"]["text"][s["begin"] : s["end"]] for s in spans] == [
        "<p>Thanks &amp; welcome.</p><p>",  # a span ends where the next sentence's text begins
        "You <b>stupid</b> idiot!</p>",
    ]
    plain = clf.predict_proba(["Thanks & welcome.\n\nYou stupid idiot!\n"])[0, 0]
    assert result["attributeScores"]["TOXICITY"]["summaryScore"]["value"] == pytest.approx(
        float(plain), abs=1e-6
    )
    assert result["clientToken"] == "c"


def test_keys_by_header_or_query(http):
    body = {"comment": {"text": "hello there"}, "requestedAttributes": {"TOXICITY": {}}}
    url = http.base_url.join(ANALYZE)
    assert httpx.post(url, json=body, headers={"x-goog-api-key": KEY}).status_code == 200
    assert error_of(httpx.post(url, json=body), 403)["message"] == "The request is missing a valid API key."
    error = error_of(httpx.post(url, json=body, params={"key": "nope"}), 400)
    assert error["details"][0]["reason"] == "API_KEY_INVALID"
    # a wrong method is Google's 404 too; the discovery document is public, as Google's is
    assert error_of(httpx.get(http.base_url.join("/v1alpha1/comments:analyze")), 404)["status"] == "NOT_FOUND"
    assert (
        httpx.get(http.base_url.join("/$discovery/rest"), params={"version": "v1alpha1"}).status_code == 200
    )


def test_rate_limit_per_key(http):
    body = {"comment": {"text": "hello there"}, "requestedAttributes": {"TOXICITY": {}}}
    with httpx.Client(base_url=http.limited_url, params={"key": KEY}) as client:
        statuses = [client.post(ANALYZE, json=body) for _ in range(4)]
        assert [r.status_code for r in statuses[:2]] == [200, 200]  # a burst of one second's worth
        refused = statuses[-1]
        assert error_of(refused, 429)["status"] == "RESOURCE_EXHAUSTED"
        assert (
            "TOXIC_API_RATE" in refused.json()["error"]["message"] and refused.headers["retry-after"] == "1"
        )
        time.sleep(0.6)
        assert client.post(ANALYZE, json=body).status_code == 200  # refilled at 2 a second


def test_discovery_root_url_follows_the_proxy(http):
    url = http.base_url.join("/$discovery/rest")
    doc = httpx.get(url, params={"version": "v1alpha1"}).json()
    assert doc["rootUrl"] == f"{http.base_url}/".replace("//$", "/") and doc["name"] == "commentanalyzer"
    proxied = httpx.get(
        url,
        params={"version": "v1alpha1"},
        headers={"x-forwarded-proto": "https", "x-forwarded-host": "api.example.org"},
    ).json()
    assert proxied["rootUrl"] == "https://api.example.org/"
    assert (
        '"TOXICITY" - answered by the model\'s "toxic" label'
        in (proxied["schemas"]["AnalyzeCommentRequest"]["properties"]["requestedAttributes"]["description"])
    )
    assert error_of(httpx.get(url, params={"version": "v2"}), 404)["status"] == "NOT_FOUND"


# --- the parts under the API ---------------------------------------------------------------------------------------


def test_utf16_offsets_tile_the_text():
    text = "Hi 👩🏽‍💻! Cafe\u0301?\n\nNew   line.  "
    spans = Comment.plain(text).sentences()
    units = text.encode("utf-16-le")
    assert [units[2 * b : 2 * e].decode("utf-16-le") for b, e, _ in spans] == [
        "Hi 👩🏽‍💻! ",
        "Cafe\u0301?\n\n",
        "New   line.  ",
    ]
    assert spans[0][1] == 3 + 7 + 2  # the woman technologist: 2 + 2 (skin tone) + 1 (ZWJ) + 2 units
    assert Comment.plain("   ").sentences() == [(0, 3, "   ")]


def test_strip_html_maps_back_to_the_markup():
    markup = "<div>a&lt;b &#x1F600;<script>x()</script><!-- c --></div>ok"
    text, origin = strip_html(markup)
    assert text == "\na<b 😀\nok"
    assert [markup[origin[i]] for i in range(len(text))] == ["<", "a", "&", "b", " ", "&", "<", "o", "k"]


@pytest.mark.parametrize(
    ("text", "clearly_not_english"),
    [
        ("you are such an idiot lol", False),
        ("lol", False),  # too short to tell: read as English
        ("@user @other #tag https://t.co/x ok", False),
        ("4f9c2a0e8b7d6c5a4f9c2a0e8b7d6c5a", False),  # no language at all
        ("Du bist ein dummer Idiot, verschwinde sofort aus diesem Forum", True),
        ("Eres un idiota, vete de este foro ahora mismo", True),
    ],
)
def test_language_detection(text, clearly_not_english):
    detection = detect(text)
    assert detection.clearly_not_english == clearly_not_english
    assert (detection.languages[0] == "en") != clearly_not_english


def test_attribute_table_lives_with_the_model(tmp_path):
    from toxic.classifier import DEFAULT_MODEL

    shipped = read_info(DEFAULT_MODEL).attributes
    assert {"TOXICITY": "toxic", "IDENTITY_ATTACK": "hate"}.items() <= shipped.items()
    assert shipped == {DEFAULT_ATTRIBUTES[label]: label for label in MODEL_LABELS}
    model = tmp_path / "m"
    model.mkdir()
    for name in ("model.onnx", "tokenizer.json"):
        (model / name).symlink_to(DEFAULT_MODEL / name)
    # read_info reads only config.json and toxic.json: the files of a two-label model
    config = json.loads((DEFAULT_MODEL / "config.json").read_text())
    config["id2label"] = {"0": "toxic", "1": "hate"}
    (model / "config.json").write_text(json.dumps(config))
    meta = json.loads((DEFAULT_MODEL / "toxic.json").read_text())
    del meta["attributes"]
    (model / "toxic.json").write_text(json.dumps(meta))
    assert read_info(model).attributes == {"TOXICITY": "toxic", "IDENTITY_ATTACK": "hate"}
    meta["attributes"] = {"insult": "insult"}
    (model / "toxic.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="maps to insult, which the model does not have"):
        read_info(model)


def test_settings(tmp_path, monkeypatch):
    keys = tmp_path / "keys.txt"
    keys.write_text("# for the moderation bot\nkey-a\n\nkey-b  # the research harness\n")
    monkeypatch.setenv("TOXIC_API_KEYS", "key-c, ,key-d")
    monkeypatch.setenv("TOXIC_API_KEYS_FILE", str(keys))
    monkeypatch.setenv("TOXIC_API_RATE", "2.5")
    settings = Settings.from_env()
    assert settings.api_keys == {"key-a", "key-b", "key-c", "key-d"} and settings.api_rate == 2.5
    assert settings.perspective_max_bytes == 20_000
    for name, value, message in [
        ("TOXIC_API_RATE", "fast", "requests per second"),
        ("TOXIC_API_RATE", "-1", "requests per second"),
        ("TOXIC_PERSPECTIVE_MAX_BYTES", "0", "from 1 up"),
        ("TOXIC_API_KEYS_FILE", str(tmp_path / "missing.txt"), "cannot read"),
    ]:
        with monkeypatch.context() as m:
            m.setenv(name, value)
            with pytest.raises(ToxicError, match=message):
                Settings.from_env()
