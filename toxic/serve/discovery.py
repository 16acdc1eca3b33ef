"""This server's discovery document for the Perspective-compatible API (``GET /$discovery/rest?version=v1alpha1``).

It is Google's own ``commentanalyzer`` v1alpha1 document (``discovery_data/``, BSD-3-Clause, provenance in the
``LICENSE`` there) with ``rootUrl`` and ``baseUrl`` pointing at the server that answered, and the attribute list
saying what this server's model answers. So Perspective's Python sample works by changing only
``discoveryServiceUrl``:

    from googleapiclient import discovery
    client = discovery.build("commentanalyzer", "v1alpha1", developerKey=API_KEY,
                             discoveryServiceUrl="http://localhost:7860/$discovery/rest?version=v1alpha1",
                             static_discovery=False)
"""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path

GOOGLE_DOCUMENT = Path(__file__).parent / "discovery_data" / "commentanalyzer-v1alpha1.discovery.json"


@functools.cache
def google_document() -> dict:
    return json.loads(GOOGLE_DOCUMENT.read_text(encoding="utf-8"))


def discovery_document(root_url: str, attributes: dict[str, str]) -> dict:
    """Google's document, served from ``root_url`` (ends with "/"), listing ``attributes`` (name -> label)."""
    doc = copy.deepcopy(google_document())
    doc["rootUrl"] = doc["baseUrl"] = root_url
    doc["title"] = "Perspective-compatible Comment Analyzer API (toxic)"
    doc["description"] = (
        "An offline, open replacement for the Perspective Comment Analyzer API, served by toxic. Requests and "
        "responses follow Perspective's. Only English is scored, and only the attributes listed in "
        "AnalyzeCommentRequest.requestedAttributes; SuggestCommentScore saves a correction for the next training "
        "round; doNotStore keeps a request out of the prediction log."
    )
    listed = "\n".join(
        f'"{name}" - answered by the model\'s "{label}" label.' for name, label in attributes.items()
    )
    props = doc["schemas"]["AnalyzeCommentRequest"]["properties"]
    props["requestedAttributes"]["description"] = (
        "Specification of requested attributes. The AttributeParameters serve as configuration for each "
        "associated attribute. The map keys are attribute names. This server answers:\n" + listed
    )
    props["languages"]["description"] = (
        "The language(s) of the comment (if none are specified, the language is detected offline). Only English "
        '("en", also "en-US" and the like) is supported; a request naming only other languages, or a comment '
        "clearly in another language, gets an INVALID_ARGUMENT error."
    )
    return doc
