"""docs/api.md's webhook section says what cxbot does: the receiver's snippet verifies what
cxbot signs, and the events it lists are the ones an endpoint can subscribe to."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from cxbot.signatures import sign
from storage.webhooks import EVENTS
from tests.test_docs import code_blocks, read, section

WEBHOOKS = section(read("api.md"), "Outbound webhooks")


def documented_verify() -> Callable[..., bool]:
    (snippet,) = [body for lang, body in code_blocks(WEBHOOKS) if lang == "python"]
    scope: dict[str, object] = {}
    exec(compile(snippet, "docs/api.md", "exec"), scope)
    verify = scope["verify"]
    assert callable(verify)
    return verify  # type: ignore[return-value]


def test_the_documented_snippet_verifies_what_cxbot_signs() -> None:
    verify = documented_verify()
    secret = "whsec_from-the-page"
    body = json.dumps({"id": "escalation.opened:1", "data": {"note": "退款"}}).encode()
    header = sign(secret, body, int(time.time()))
    assert verify(secret, body, header)
    assert not verify(secret, body + b" ", header)
    assert not verify("whsec_another", body, header)
    assert not verify(secret, body, sign(secret, body, int(time.time()) - 400))
    assert not verify(secret, body, "t=abc,v1=00")
    assert not verify(secret, body, "")


def test_every_event_is_documented() -> None:
    for event in EVENTS:
        assert f"| `{event}` |" in WEBHOOKS, event
