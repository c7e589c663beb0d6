"""The event localrun builds is API Gateway's HTTP API payload format 2.0."""

from __future__ import annotations

import base64

from localrun.events import HttpRequest, build_http_api_event, claim_as_string, is_text


def request(**overrides: object) -> HttpRequest:
    fields: dict[str, object] = {
        "method": "POST",
        "raw_path": "/api/v1/profiles/social-sync/tiktok",
        "raw_query": "a=1&a=2&b=x%20y",
        "headers": [
            ("Host", "127.0.0.1:3000"),
            ("Content-Type", "application/json"),
            ("X-Custom", "one"),
            ("x-custom", "two"),
            ("Cookie", "theme=dark; session=abc"),
            ("User-Agent", "SocialSyncApp/3.4.0"),
        ],
        "body": b'{"followers": 1000}',
        "source_ip": "127.0.0.1",
    }
    fields.update(overrides)
    return HttpRequest(**fields)  # type: ignore[arg-type]


def test_the_event_has_every_field_api_gateway_sends() -> None:
    event = build_http_api_event(
        request(),
        "POST /api/v1/profiles/social-sync/tiktok",
        claims={"sub": "alice", "exp": 1795431300},
        port=3000,
    )

    assert event["version"] == "2.0"
    assert event["routeKey"] == "POST /api/v1/profiles/social-sync/tiktok"
    assert event["rawPath"] == "/api/v1/profiles/social-sync/tiktok"
    assert event["rawQueryString"] == "a=1&a=2&b=x%20y"
    assert event["cookies"] == ["theme=dark", "session=abc"]
    assert event["headers"]["x-custom"] == "one,two"
    assert event["headers"]["content-type"] == "application/json"
    assert "cookie" not in event["headers"]
    assert event["queryStringParameters"] == {"a": "1,2", "b": "x y"}
    assert event["body"] == '{"followers": 1000}'
    assert event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["authorizer"] == {"jwt": {"claims": {"sub": "alice", "exp": "1795431300"}, "scopes": None}}
    assert context["http"] == {
        "method": "POST",
        "path": "/api/v1/profiles/social-sync/tiktok",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "SocialSyncApp/3.4.0",
    }
    assert context["stage"] == "$default"
    assert context["routeKey"] == event["routeKey"]
    assert context["domainName"] == "127.0.0.1"
    assert isinstance(context["timeEpoch"], int)
    assert context["requestId"]
    assert context["accountId"]
    assert context["apiId"]
    assert context["time"].endswith("+0000")


def test_a_binary_body_is_base64_encoded() -> None:
    body = bytes(range(256))
    headers = [("Content-Type", "application/octet-stream")]

    event = build_http_api_event(request(headers=headers, body=body), "POST /x")

    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == body


def test_empty_parts_are_left_out() -> None:
    event = build_http_api_event(request(method="GET", raw_query="", headers=[], body=b""), "GET /x")

    for key in ("body", "cookies", "queryStringParameters", "pathParameters"):
        assert key not in event
    assert "authorizer" not in event["requestContext"]
    assert event["isBase64Encoded"] is False


def test_claims_are_rendered_as_api_gateway_renders_them() -> None:
    assert claim_as_string("alice") == "alice"
    assert claim_as_string(1795431300) == "1795431300"
    assert claim_as_string(True) == "true"
    assert claim_as_string(["admin", "users"]) == "[admin users]"


def test_text_content_types() -> None:
    assert is_text("application/json; charset=utf-8")
    assert is_text("text/plain")
    assert is_text("application/problem+json")
    assert not is_text("application/octet-stream")
    assert not is_text(None)
