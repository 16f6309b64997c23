import pytest
from mercadopago.webhook import WebhookSignatureValidator

from mpcheckout.signature import (
    SignatureError,
    SignatureFailure,
    manifest,
    sign,
    verify,
)

SECRET = "your_secret_key_here"  # the secret behind the vectors in shared/fixtures SOURCES.md
TS = "1742505638683"
VECTORS = [
    (
        "123456",
        "bb56a2f1-6aae-46ac-982e-9dcd3581d08e",
        "5e0a7ed2ea5ece575e9d1a9bb80f7ce6ca43d6d30e8be93413bae108b94ad7cd",
    ),
    (
        "ord01jq4s4ky8hwq6na5pxb65b3d3",
        "2066ca19-c6f1-498a-be75-1923005edd06",
        "633f91233312dd391ec75fa0bea539cfc2d6c4918873305b84a96cc1c58db71c",
    ),
    (
        "ORD01JQ4S4KY8HWQ6NA5PXB65B3D3",
        "2066ca19-c6f1-498a-be75-1923005edd06",
        "fb15ae6472eb449173c556793205d77787d58f384d183bb5bc3b724c27bd103c",
    ),
    (
        None,
        "2066ca19-c6f1-498a-be75-1923005edd06",
        "8a7b0cc777a8217c3bab41a50c95dc92debbc6f8448f1c967dfe10ac1cb8b894",
    ),
    (None, None, "3f075add3ddb923bebf0bc0648457b8244cf4420b98d5b445167d379bec0ca54"),
]
NOW = 1742505638.683


def at(seconds: float):
    return lambda: seconds


@pytest.mark.parametrize(("data_id", "request_id", "v1"), VECTORS)
def test_sign_reproduces_the_published_vectors(data_id, request_id, v1):
    assert sign(SECRET, data_id, request_id, TS) == f"ts={TS},v1={v1}"


@pytest.mark.parametrize(("data_id", "request_id", "v1"), VECTORS)
def test_verify_accepts_the_published_vectors(data_id, request_id, v1):
    verify(f"ts={TS},v1={v1}", request_id, data_id, [SECRET], now=at(NOW))


def test_signature_agrees_with_the_official_sdk_validator():
    header = sign(SECRET, "123456", "req-1", TS)
    WebhookSignatureValidator.validate(header, "req-1", "123456", SECRET)


def test_upper_case_data_id_signed_lower_case_is_accepted():
    """Older docs sign data.id lower-cased; the query string carries it upper-cased."""
    header = f"ts={TS},v1={VECTORS[1][2]}"
    verify(header, VECTORS[1][1], "ORD01JQ4S4KY8HWQ6NA5PXB65B3D3", [SECRET], now=at(NOW))


def test_rotated_secrets_any_one_of_them_verifies():
    header = sign("new-secret", "1", "r", TS)
    verify(header, "r", "1", ["old-secret", "new-secret"], now=at(NOW))


def test_ts_in_seconds_and_in_milliseconds_both_honour_tolerance():
    for ts in ("1742505638", "1742505638683"):
        header = sign(SECRET, "1", "r", ts)
        verify(header, "r", "1", [SECRET], tolerance_seconds=60, now=at(NOW + 30))
        with pytest.raises(SignatureError) as caught:
            verify(header, "r", "1", [SECRET], tolerance_seconds=60, now=at(NOW + 600))
        assert caught.value.reason is SignatureFailure.OUT_OF_TOLERANCE


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, SignatureFailure.MISSING_HEADER),
        ("   ", SignatureFailure.MISSING_HEADER),
        ("garbage", SignatureFailure.MALFORMED),
        (f"ts={TS},ts={TS},v1=abc", SignatureFailure.MALFORMED),
        (f"ts={TS},v1=abc,v1=def", SignatureFailure.MALFORMED),
        (f"ts={TS},v2=abc", SignatureFailure.MALFORMED),
        ("ts=12ab,v1=abc", SignatureFailure.MALFORMED),
        ("ts=99999999999999999999,v1=abc", SignatureFailure.MALFORMED),
        (f"ts={TS},v1=", SignatureFailure.MALFORMED),
        ("v1=abc", SignatureFailure.MISSING_TS),
        (f"ts={TS}", SignatureFailure.MISSING_HASH),
        (f"ts={TS},v1=" + "0" * 64, SignatureFailure.MISMATCH),
    ],
)
def test_each_malformed_header_has_its_typed_reason(header, reason):
    with pytest.raises(SignatureError) as caught:
        verify(header, "r", "1", [SECRET], now=at(NOW))
    assert caught.value.reason is reason


def test_a_valid_signature_replayed_with_another_data_id_is_refused():
    header = sign(SECRET, "1001", "r", TS)
    with pytest.raises(SignatureError) as caught:
        verify(header, "r", "1002", [SECRET], now=at(NOW))
    assert caught.value.reason is SignatureFailure.MISMATCH


def test_a_signature_with_another_request_id_is_refused():
    header = sign(SECRET, "1", "request-a", TS)
    with pytest.raises(SignatureError):
        verify(header, "request-b", "1", [SECRET], now=at(NOW))


def test_the_wrong_secret_is_refused():
    with pytest.raises(SignatureError):
        verify(sign("attacker", "1", "r", TS), "r", "1", [SECRET], now=at(NOW))


def test_manifest_drops_missing_parts():
    assert manifest(None, None, "5") == "ts:5;"
    assert manifest("a", None, "5") == "id:a;ts:5;"
