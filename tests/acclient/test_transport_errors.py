"""Rate limits, retries, timeouts and error mapping: over loopback, plus `responses` for odd bodies."""

from __future__ import annotations

import pytest
import responses

from acclient import (
    ActiveCampaign,
    IntervalRateLimiter,
    RateLimitError,
    RetryPolicy,
    ServerError,
    TransportError,
)
from acclient.sandbox import BackgroundServer, SandboxConfig, create_app
from acclient.transport import Transport, parse_retry_after
from acsync.localredis import free_port
from tests.acclient.helpers import client_for, request_log, set_faults


@pytest.fixture
def limited_sandbox():
    with BackgroundServer(create_app(SandboxConfig(requests_per_second=5))) as server:
        yield server


def test_sandbox_answers_429_with_retry_after_past_five_per_second(limited_sandbox):
    ac = client_for(limited_sandbox)
    with pytest.raises(RateLimitError) as caught:
        for n in range(8):
            ac.contacts.sync(f"u{n}@example.com")
    assert caught.value.status == 429 and caught.value.retryable
    assert caught.value.retry_after is not None and caught.value.retry_after >= 1
    assert request_log(limited_sandbox)["by_status"] == {
        "POST /api/3/contact/sync 201": 5,
        "POST /api/3/contact/sync 429": 1,
    }


def test_default_in_process_limiter_stays_under_the_limit(limited_sandbox):
    ac = client_for(limited_sandbox, rate_limiter=IntervalRateLimiter(5))
    for n in range(11):
        ac.contacts.sync(f"u{n}@example.com")
    log = request_log(limited_sandbox)
    assert log["total"] == 11
    assert all(not key.endswith(" 429") for key in log["by_status"])


def test_transport_waits_retry_after_then_succeeds(ac_sandbox):
    set_faults(ac_sandbox, force_429_count=1, force_429_retry_after=1)
    slept: list[float] = []  # what the transport asked to sleep, recorded: no timer in the test
    transport = Transport(retry_policy=RetryPolicy(max_retries=2, max_retry_after=5), sleep=slept.append)
    ac = client_for(ac_sandbox, transport=transport)
    ac.contacts.sync("ana@example.com")  # a POST: safe to repeat after a 429, the server refused it
    assert slept == [1.0]  # exactly the Retry-After the sandbox sent, once, before the one retry
    assert request_log(ac_sandbox)["by_status"] == {
        "POST /api/3/contact/sync 429": 1,
        "POST /api/3/contact/sync 201": 1,
    }


def test_long_retry_after_is_raised_not_slept(ac_sandbox):
    set_faults(ac_sandbox, force_429_count=1, force_429_retry_after=60)
    ac = client_for(ac_sandbox, retry_policy=RetryPolicy(max_retries=3, max_retry_after=5))
    with pytest.raises(RateLimitError) as caught:
        ac.contacts.sync("ana@example.com")
    assert caught.value.retry_after == 60


def test_server_errors_retried_for_get_but_not_for_post(ac_sandbox):
    ac = client_for(ac_sandbox, retry_policy=RetryPolicy(max_retries=2, backoff_base=0.01))
    set_faults(ac_sandbox, error_rate=1.0)
    with pytest.raises(ServerError) as caught:
        ac.contacts.list()
    assert caught.value.retryable and caught.value.status == 500
    with pytest.raises(ServerError):
        ac.contacts.sync("ana@example.com")
    assert request_log(ac_sandbox)["by_endpoint"] == {"GET /api/3/contacts": 3, "POST /api/3/contact/sync": 1}


def test_read_timeout_is_a_retryable_transport_error(ac_sandbox):
    set_faults(ac_sandbox, latency_ms=600)
    ac = client_for(ac_sandbox, read_timeout=0.1)
    with pytest.raises(TransportError) as caught:
        ac.contacts.sync("slow@example.com")
    assert caught.value.retryable and caught.value.request_sent


def test_refused_connection_is_retried_then_reported_as_not_sent():
    ac = ActiveCampaign(
        api_url=f"http://127.0.0.1:{free_port()}",
        api_token="t",
        connect_timeout=0.5,
        retry_policy=RetryPolicy(max_retries=1, backoff_base=0.01),
    )
    with pytest.raises(TransportError) as caught:
        ac.contacts.sync("x@example.com")
    assert caught.value.retryable and not caught.value.request_sent


def test_api_url_is_preferred_and_account_is_a_fallback():
    assert (
        ActiveCampaign(api_token="t", api_url="https://acme.api-us2.com/api/3/").api_url == "https://acme.api-us2.com"
    )
    assert ActiveCampaign(api_token="t", account="acme").api_url == "https://acme.api-us1.com"
    with pytest.raises(ValueError):
        ActiveCampaign(api_token="t")
    with pytest.raises(ValueError):
        ActiveCampaign(api_token="", account="acme")


@responses.activate
def test_503_with_http_date_retry_after_is_a_rate_limit_error():
    responses.add(
        responses.GET,
        "https://acme.api-us1.com/api/3/contacts/1",
        status=503,
        headers={"Retry-After": "Wed, 21 Oct 2099 07:28:00 GMT"},
        body="",
    )
    ac = ActiveCampaign(api_token="t", account="acme", retry_policy=RetryPolicy(max_retries=0))
    with pytest.raises(RateLimitError) as caught:
        ac.contacts.retrieve(1)
    assert caught.value.retry_after > 3600


@responses.activate
def test_html_error_page_becomes_server_error_and_empty_success_body_is_empty_dict():
    responses.add(
        responses.GET,
        "https://acme.api-us1.com/api/3/contacts/1",
        status=502,
        body="<html>Bad gateway</html>",
        content_type="text/html",
    )
    responses.add(responses.DELETE, "https://acme.api-us1.com/api/3/ecomOrders/7", status=200, body="")
    ac = ActiveCampaign(api_token="t", account="acme", retry_policy=RetryPolicy(max_retries=0))
    with pytest.raises(ServerError) as caught:
        ac.contacts.retrieve(1)
    assert "Bad gateway" in caught.value.message
    assert ac.ecom_orders.delete(7) is None
    assert responses.calls[1].request.headers["Api-Token"] == "t"


def test_parse_retry_after_forms():
    assert parse_retry_after("30") == 30
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Thu, 01 Jan 1970 00:00:00 GMT") == 0
