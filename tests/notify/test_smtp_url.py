"""Reading ROSTERSYNC_SMTP_URL: schemes, default ports, credentials, options, bad URLs."""

from __future__ import annotations

import pytest

from rostersync.errors import ConfigurationError
from rostersync.notify import SmtpMailer, SmtpTarget, parse_smtp_url


@pytest.mark.parametrize(
    ("url", "port", "implicit_tls", "starttls"),
    [
        ("smtp://mail.example.org", 25, False, False),
        ("smtp://mail.example.org?starttls=true", 587, False, True),
        ("smtps://mail.example.org", 465, True, False),
        ("smtp://mail.example.org:2525?starttls=yes", 2525, False, True),
        ("smtps://mail.example.org:10465/", 10465, True, False),
    ],
)
def test_scheme_and_starttls_choose_the_default_port(url, port, implicit_tls, starttls):
    target = parse_smtp_url(url)

    assert (target.host, target.port) == ("mail.example.org", port)
    assert (target.implicit_tls, target.starttls, target.verify) == (implicit_tls, starttls, True)
    assert target.username is None and target.password is None


def test_credentials_are_percent_decoded():
    target = parse_smtp_url("smtp://mailer%40example.org:p%40ss%3Aw%2Frd%25@mail.example.org")

    assert target.username == "mailer@example.org"
    assert target.password == "p@ss:w/rd%"


def test_verify_false_turns_certificate_checks_off():
    assert parse_smtp_url("smtps://mail.example.org?verify=false").verify is False


def test_ipv6_host_is_read_and_shown_in_brackets():
    target = parse_smtp_url("smtp://[::1]:2525")

    assert target.host == "::1"
    assert target.display == "smtp://[::1]:2525"


def test_password_never_shows_in_display_repr_or_the_mailer():
    url = "smtp://user:Sup3rS3cret@mail.example.org:587?starttls=true"
    target = parse_smtp_url(url)

    assert target.display == "smtp://user@mail.example.org:587?starttls=true"
    assert "Sup3rS3cret" not in repr(target)
    assert "Sup3rS3cret" not in repr(SmtpMailer(url, "noreply@example.org"))


@pytest.mark.parametrize(
    ("url", "match"),
    [
        ("http://mail.example.org", "must start with smtp:// or smtps://"),
        ("mail.example.org:25", "must start with smtp:// or smtps://"),
        ("smtp://", "names no host"),
        ("smtp://mail.example.org:notaport", "port"),
        ("smtp://mail.example.org:70000", "port"),
        ("smtp://mail.example.org/inbox", "path"),
        ("smtp://mail.example.org?tls=true", "unknown option 'tls'"),
        ("smtp://mail.example.org?starttls=maybe", "true or false"),
        ("smtps://mail.example.org?starttls=true", "already uses TLS"),
    ],
)
def test_bad_url_is_a_configuration_error(url, match):
    with pytest.raises(ConfigurationError, match=match):
        parse_smtp_url(url)


def test_bad_url_error_never_shows_the_password():
    with pytest.raises(ConfigurationError) as caught:
        parse_smtp_url("smtp://user:Sup3rS3cret@mail.example.org:bad")

    assert "Sup3rS3cret" not in str(caught.value)


def test_timeout_must_be_positive():
    with pytest.raises(ConfigurationError, match="timeout"):
        SmtpMailer("smtp://mail.example.org", "noreply@example.org", timeout=0)


def test_target_is_a_value():
    assert parse_smtp_url("smtp://h:1") == SmtpTarget(host="h", port=1)
