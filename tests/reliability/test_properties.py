"""Hostile input, property-based: the notification parser, the signature verifier and the retry
policy take anything and answer only in their own terms (InvalidNotificationError, SignatureError, a
RetryDecision). The safe patterns are spelled out here, not imported, so that a loosened pattern
in the code fails these tests."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from mercadopago.webhook import InvalidWebhookSignatureError, WebhookSignatureValidator

from mpcheckout.config import load_settings
from mpcheckout.errors import (
    ConfigurationError,
    ExternalServiceError,
    MercadoPagoAuthError,
    MercadoPagoNotFoundError,
    MercadoPagoRateLimitedError,
    MercadoPagoRejectedError,
    MercadoPagoUnavailableError,
)
from mpcheckout.models import DeadLetterReason, Notification
from mpcheckout.notifications import InvalidNotificationError, RawRequest, parse_notification
from mpcheckout.retry import RetryDecision, RetryPolicy
from mpcheckout.signature import SignatureError, sign, verify
from tests.reliability.conftest import scale

# DESIGN.md / notifications.py: ids reach API URLs and SQL filters, so they are this and no more.
SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:\-]{0,127}")
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")
SECRET_HEADERS = {"authorization", "cookie", "proxy-authorization", "x-api-key"}
# Cheaper than st.from_regex(SAFE_ID), and a valid id every time.
safe_ids = st.tuples(st.sampled_from("aZ09"), st.text(alphabet="azAZ09_.:-", max_size=12)).map(
    "".join
)

FAST = settings(
    max_examples=scale(200, 5000),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
SIMPLE = settings(FAST, max_examples=scale(100, 2000))  # narrow properties, few inputs matter

# -- the notification parser ------------------------------------------------------------------

HOSTILE_TEXT = [
    "' OR 1=1 --",
    '"; DROP TABLE orders; --',
    "../../etc/passwd",
    "%2e%2e%2f",
    "a\x00b",
    "payment\n",
    "123\n",
    "１２３",  # full-width digits
    "ｐａｙｍｅｎｔ",  # full-width letters
    "раyment",  # Cyrillic look-alikes
    "1" * 129,
    "",
    " ",
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**120, max_value=10**400),  # past 128 digits; 5000: below
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.sampled_from(HOSTILE_TEXT),
    safe_ids,
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=8,
)
FIELDS = ["id", "type", "action", "data", "resource", "topic", "live_mode", "user_id"]
plausible = st.one_of(
    st.sampled_from(["payment", "merchant_order", "payment.updated", "order"]),
    safe_ids,
)
field_values = st.one_of(json_values, plausible, st.fixed_dictionaries({"id": json_values}))
bodies = st.dictionaries(
    st.one_of(st.sampled_from(FIELDS), st.text(max_size=10)), field_values, max_size=9
)
queries = st.dictionaries(
    st.sampled_from(["data.id", "type", "topic", "id", "source_news"]),
    st.one_of(st.text(max_size=30), st.sampled_from(HOSTILE_TEXT), plausible),
    max_size=4,
)
header_maps = st.dictionaries(
    st.one_of(st.sampled_from([*sorted(SECRET_HEADERS), "X-Signature"]), st.text(max_size=20)),
    st.text(max_size=40),
    max_size=5,
)


def parse_or_refuse(request: RawRequest) -> Notification | None:
    """The parser's whole contract: a safe Notification, or InvalidNotificationError. Anything else
    propagates and fails the test."""
    try:
        notification = parse_notification(request)
    except InvalidNotificationError as exc:
        assert isinstance(exc.reason, str) and exc.reason
        return None
    assert_safe(notification, request)
    return notification


def assert_safe(notification: Notification, request: RawRequest) -> None:
    assert notification.kind in ("webhook", "ipn")
    assert SAFE_NAME.fullmatch(notification.topic), notification.topic
    assert notification.action is None or SAFE_NAME.fullmatch(notification.action)
    for value in (notification.resource_id, notification.notification_id, notification.user_id):
        assert value is None or SAFE_ID.fullmatch(value), value
    assert notification.dedupe_key.startswith(("wh:", "co:"))
    assert notification.payload in ("", request.body.decode("utf-8"))
    assert not SECRET_HEADERS & set(notification.headers)
    assert all(name == name.lower() for name in notification.headers)


@FAST
@given(body=st.binary(max_size=512), query=st.text(max_size=80), headers=header_maps)
def test_arbitrary_bytes_query_and_headers_are_parsed_or_refused(body, query, headers):
    parse_or_refuse(RawRequest(query=query, headers=headers, body=body))


@FAST
@given(body=bodies, query=queries, headers=header_maps)
@example(body={"type": "payment", "id": 10**200, "data": {"id": "1"}}, query={}, headers={})
@example(body={"type": "payment\n", "data": {"id": "1"}}, query={}, headers={})
@example(body={"type": "payment", "action": "payment.updated\n"}, query={}, headers={})
@example(body={"topic": "payment", "resource": "https://x/merchant_orders/"}, query={}, headers={})
def test_structured_json_notifications_are_parsed_or_refused(body, query, headers):
    text = json.dumps(body, allow_nan=True)
    request = RawRequest(query=urlencode(query), headers=headers, body=text.encode())
    notification = parse_or_refuse(request)
    if notification is not None and notification.kind == "webhook":
        data = body.get("data")
        named = query.get("data.id") or (data.get("id") if isinstance(data, dict) else None)
        if named not in (None, ""):  # the query's (signed) data.id first, else the body's
            assert notification.resource_id == str(named).strip()


@FAST
@given(query=queries, headers=header_maps)
@example(query={"topic": "payment\n", "id": "1"}, headers={})
@example(query={"type": "payment", "data.id": "1\n"}, headers={})
def test_query_only_notifications_are_parsed_or_refused(query, headers):
    parse_or_refuse(RawRequest(query=urlencode(query), headers=headers))


@settings(FAST, max_examples=scale(40, 400))
@given(
    depth=st.integers(min_value=1, max_value=130_000),
    opener=st.sampled_from(["[", '{"a":']),
    where=st.sampled_from(["data", "id", "type", "extra"]),
)
def test_deep_nesting_is_parsed_or_refused(depth, opener, where):
    closer, middle = ("]", "") if opener == "[" else ("}", "1")
    nested = opener * depth + middle + closer * depth
    text = f'{{"type":"payment","data":{{"id":"1"}},"{where}":{nested}}}'
    notification = parse_or_refuse(RawRequest(body=text.encode()))
    if where == "extra" and len(text) <= 256 * 1024 and depth < 500:
        assert notification is not None  # unknown keys are kept, not a reason to refuse


@settings(FAST, max_examples=scale(40, 400))
@given(
    size=st.integers(min_value=1, max_value=300_000),
    char=st.sampled_from(["x", "1", "é", "\u202e", "\x00", " "]),
    where=st.sampled_from(["id", "type", "action", "data.id", "query data.id", "pad"]),
)
def test_huge_strings_and_numbers_are_parsed_or_refused(size, char, where):
    value = char * size
    body: dict = {"type": "payment", "action": "payment.updated", "data": {"id": "1"}}
    query = ""
    if where == "data.id":
        body["data"] = {"id": value}
    elif where == "query data.id":
        del body["data"]
        query = urlencode({"data.id": value, "type": "payment"})
    else:
        body[where] = value
    encoded = json.dumps(body).encode()
    notification = parse_or_refuse(RawRequest(query=query, body=encoded))
    if where == "pad" and len(encoded) <= 256 * 1024:
        assert notification is not None  # size alone, under the limit, is no reason to refuse
    if char == "1" and where == "id":  # also as a JSON number, past Python's int-string limit
        text = f'{{"type":"payment","data":{{"id":"1"}},"id":{value}}}'
        parse_or_refuse(RawRequest(body=text.encode()))


def test_the_resource_is_the_one_the_signed_query_names():
    """Mercado Pago signs the query's data.id: a body naming another resource must not get in
    under that signature, nor a second data.id appended to the query."""
    body = json.dumps({"id": 1, "type": "payment", "data": {"id": "7654321"}}).encode()
    moved = parse_notification(RawRequest(query="data.id=1234567&type=payment", body=body))
    assert moved.resource_id == "1234567"
    hostile = json.dumps({"id": 1, "type": "payment", "data": {"id": "1' OR 1=1 --"}})
    with pytest.raises(InvalidNotificationError):  # a hostile body id is refused all the same
        parse_notification(RawRequest(query="data.id=1234567&type=payment", body=hostile.encode()))
    for query in ("data.id=1234567&data.id=7654321&type=payment", "type=payment&id=1&id=2"):
        for payload in (body, b""):
            with pytest.raises(InvalidNotificationError):
                parse_notification(RawRequest(query=query, body=payload))
    ipn = "topic=payment&id=1&topic=merchant_order"
    with pytest.raises(InvalidNotificationError):
        parse_notification(RawRequest(query=ipn))


# -- the signature verifier -------------------------------------------------------------------


def expected_hmac(secret: str, data_id: str | None, request_id: str | None, ts: str) -> str:
    """The documented manifest, written out independently of signature.py (parts trimmed and
    dropped when empty, as Mercado Pago's SDK validator does)."""
    data_id, request_id = (data_id or "").strip(), (request_id or "").strip()
    parts = [f"id:{data_id}"] if data_id else []
    parts += [f"request-id:{request_id}"] if request_id else []
    manifest = ";".join([*parts, f"ts:{ts}"]) + ";"
    return hmac.new(secret.encode(), manifest.encode(), hashlib.sha256).hexdigest()


def verdict(header, request_id, data_id, secrets, **kwargs) -> bool:
    """True when verify() accepts; SignatureError is a refusal; anything else fails the test."""
    try:
        verify(header, request_id, data_id, secrets, now=kwargs.pop("now", lambda: 0.0), **kwargs)
    except SignatureError:
        return False
    return True


header_texts = st.one_of(
    st.none(),
    st.text(max_size=120),
    st.lists(
        st.tuples(
            st.sampled_from(["ts", "v1", "V1", "TS", "v2", "v0", "", " ts", "v1 "]),
            st.one_of(
                st.text(max_size=20),
                st.from_regex(r"[0-9a-f]{64}", fullmatch=True),
                st.sampled_from(["²", "١٢٣", "1" * 14, "é" * 64, ""]),
            ),
        ),
        max_size=4,
    ).map(lambda parts: ",".join(f"{k}={v}" for k, v in parts)),
)
ids = st.one_of(st.none(), st.text(max_size=30), st.sampled_from(HOSTILE_TEXT))
secret_lists = st.lists(st.text(max_size=20), max_size=3)


@FAST
@given(header=header_texts, request_id=ids, data_id=ids, secrets=secret_lists)
@example(header="ts=1,v1=\xe9", request_id=None, data_id="1", secrets=["s"])
@example(header="ts=1,v1=" + "é" * 64, request_id=None, data_id="1", secrets=["s"])
def test_arbitrary_headers_ids_and_secrets_are_verified_or_refused(
    header, request_id, data_id, secrets
):
    for tolerance in (None, 300):
        accepted = verdict(header, request_id, data_id, secrets, tolerance_seconds=tolerance)
        if accepted:  # only a real HMAC under a configured, non-blank secret gets in
            parts = dict(part.split("=", 1) for part in header.split(","))
            parts = {k.strip().lower(): v.strip() for k, v in parts.items()}
            trimmed = (data_id or "").strip()
            forms = {trimmed, trimmed.lower()}
            assert any(
                hmac.compare_digest(
                    parts["v1"].encode(), expected_hmac(s, f, request_id, parts["ts"]).encode()
                )
                for s in secrets
                if s.strip()
                for f in forms
            )


digits_ts = st.one_of(
    st.integers(min_value=0, max_value=10**13 - 1).map(str),
    st.integers(min_value=10**12, max_value=10**13 - 1),
)
signable = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=30
).filter(lambda s: s.strip() == s)


@FAST
@given(
    secret=signable,
    others=secret_lists,
    data_id=st.one_of(st.none(), signable),
    request_id=st.one_of(st.none(), signable),
    ts=digits_ts,
)
def test_verify_accepts_exactly_what_sign_produced(secret, others, data_id, request_id, ts):
    header = sign(secret, data_id, request_id, ts)
    assert verdict(header, request_id, data_id, [*others, secret])
    assert not verdict(header, request_id, data_id, [s for s in others if s != secret])
    assert not verdict(header, request_id, data_id, [])
    if data_id is not None:  # replayed on another resource
        assert not verdict(header, request_id, data_id + "0", [secret])
    assert not verdict(header, (request_id or "") + "x", data_id, [secret])
    digest = header.split("v1=")[1]
    flipped = digest[:-1] + ("0" if digest[-1] != "0" else "1")
    assert not verdict(f"ts={ts},v1={flipped}", request_id, data_id, [secret])
    assert not verdict(f"ts={int(ts) + 1},v1={digest}", request_id, data_id, [secret])
    assert not verdict(f"ts={ts},v1={digest},v1={digest}", request_id, data_id, [secret])
    assert not verdict(f"ts={ts},v2={digest}", request_id, data_id, [secret])
    assert not verdict(f"v1={digest}", request_id, data_id, [secret])


@FAST
@given(
    secret=signable,
    data_id=st.one_of(st.none(), signable),
    request_id=st.one_of(st.none(), signable),
    ts=digits_ts,
    tampered=st.booleans(),
)
def test_verify_agrees_with_the_sdks_validator(secret, data_id, request_id, ts, tampered):
    """signature.py does the HMAC itself (the SDK's validator parses the header again, too slow
    for serve's hot path); Mercado Pago's own validator must agree, input for input."""
    digest = expected_hmac(secret, data_id, request_id, str(ts))
    if tampered:
        digest = digest[1:] + digest[0]
    header = f"ts={ts},v1={digest}"
    try:
        WebhookSignatureValidator.validate(header, request_id, data_id, secret)
        sdk_accepts = True
    except InvalidWebhookSignatureError:
        sdk_accepts = False
    assert sdk_accepts is not tampered
    assert verdict(header, request_id, data_id, [secret]) is sdk_accepts


@SIMPLE
@given(data_id=signable, request_id=signable, ts=digits_ts)
def test_an_empty_secret_never_verifies(data_id, request_id, ts):
    """Anyone can compute an HMAC under an empty key: a blank configured secret must refuse
    everything, not accept everyone."""
    for blank in ("", " "):
        header = sign(blank, data_id, request_id, ts)
        assert not verdict(header, request_id, data_id, [blank])


@FAST
@given(ts=st.sampled_from(["²", "١٢٣٤", "1²"]), tolerance=st.sampled_from([None, 60]))
def test_non_ascii_digits_in_ts_are_refused_not_crashed(ts, tolerance):
    header = sign("s", "1", "r", ts)
    assert not verdict(header, "r", "1", ["s"], tolerance_seconds=tolerance)


@SIMPLE
@given(
    skew=st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
    tolerance=st.integers(min_value=1, max_value=3600),
    millis=st.booleans(),
)
def test_tolerance_accepts_inside_and_refuses_outside(skew, tolerance, millis):
    assume(abs(abs(skew) - tolerance) > 0.01)
    signed_at = 1_742_505_638
    ts = signed_at * 1000 if millis else signed_at
    header = sign("s", "1", "r", ts)
    accepted = verdict(
        header, "r", "1", ["s"], tolerance_seconds=tolerance, now=lambda: signed_at + skew
    )
    assert accepted == (abs(skew) <= tolerance)


# -- the retry policy -------------------------------------------------------------------------

retry_afters = st.one_of(
    st.none(),
    st.just(0),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["60", "soon", b"1", [], object()]),
)
OUR_ERRORS = [
    ExternalServiceError,
    MercadoPagoUnavailableError,
    MercadoPagoRateLimitedError,
    MercadoPagoRejectedError,
    MercadoPagoAuthError,
    MercadoPagoNotFoundError,
]


@st.composite
def failures(draw) -> BaseException:
    if draw(st.booleans()):
        kind = draw(st.sampled_from(OUR_ERRORS))
        error = kind(transient=draw(st.booleans()), status=draw(st.none() | st.integers(0, 599)))
        error.retry_after = draw(retry_afters)
        return error
    kind = draw(st.sampled_from([ValueError, KeyError, RuntimeError, OSError, Exception]))
    error = kind(draw(st.text(max_size=10)))
    if draw(st.booleans()):
        error.retry_after = draw(retry_afters)
    return error


schedules = st.lists(
    st.floats(min_value=0.001, max_value=7 * 24 * 60, allow_nan=False), min_size=1, max_size=10
)
moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
attempt_counts = st.one_of(st.integers(min_value=1, max_value=12), st.integers(min_value=1))


@FAST
@given(
    minutes=schedules,
    jitter=st.floats(min_value=0, max_value=1),
    not_found_retries=st.integers(min_value=0, max_value=5),
    seed=st.integers(),
    attempts=attempt_counts,
    error=failures(),
    now=moments,
)
@example(
    minutes=[1, 2],
    jitter=0.0,
    not_found_retries=2,
    seed=0,
    attempts=1,
    error=MercadoPagoRateLimitedError(retry_after=1e300),
    now=datetime(2026, 1, 1, tzinfo=UTC),
)
def test_the_retry_policy_always_decides_and_never_schedules_in_the_past(
    minutes, jitter, not_found_retries, seed, attempts, error, now
):
    policy = RetryPolicy.from_minutes(
        minutes, jitter=jitter, not_found_retries=not_found_retries, rng=random.Random(seed)
    )
    decision = policy.decide(attempts, error, now)
    assert isinstance(decision, RetryDecision)
    transient = not isinstance(error, ExternalServiceError) or error.transient
    not_found = isinstance(error, MercadoPagoNotFoundError)
    within = attempts <= len(minutes)
    if transient or (not_found and attempts <= not_found_retries):
        expected = None if within else DeadLetterReason.EXHAUSTED
    else:
        expected = DeadLetterReason.PERMANENT
    assert decision.dead_reason == expected
    assert decision.retry == (expected is None)
    if decision.retry:
        step = timedelta(minutes=minutes[attempts - 1])
        assert decision.next_attempt_at >= now + step * 0.999  # never sooner than the schedule
        retry_after = getattr(error, "retry_after", None)
        numeric = isinstance(retry_after, int | float) and not isinstance(retry_after, bool)
        if numeric and 0 < retry_after <= 3600:
            assert decision.next_attempt_at >= now + timedelta(seconds=retry_after)
    else:
        assert decision.next_attempt_at is None


@SIMPLE
@given(minutes=schedules, jitter=st.floats(min_value=0, max_value=1), now=moments)
def test_an_always_failing_event_dead_letters_exactly_after_the_schedule(minutes, jitter, now):
    policy = RetryPolicy.from_minutes(minutes, jitter=jitter, rng=random.Random(7))
    error = MercadoPagoUnavailableError(status=503)
    attempts, moment, retries = 1, now, 0
    while (decision := policy.decide(attempts, error, moment)).retry:
        assert decision.next_attempt_at > moment
        moment, attempts, retries = decision.next_attempt_at, attempts + 1, retries + 1
        assert retries <= len(minutes)
    assert retries == len(minutes) and attempts == policy.max_attempts
    assert decision.dead_reason == DeadLetterReason.EXHAUSTED


@pytest.mark.parametrize("schedule", ["", "0", "-5", "1,-2", "[]"])
def test_a_schedule_that_would_retry_in_the_past_or_never_is_refused_by_config(schedule):
    with pytest.raises(ConfigurationError):
        load_settings(environ={"MPCHECKOUT_QUEUE__RETRY_SCHEDULE_MINUTES": schedule})
