"""mailer_from_settings: the backend names and the settings each one needs."""

from __future__ import annotations

import pytest

from rostersync.errors import ConfigurationError
from rostersync.notify import ConsoleMailer, FileMailer, SmtpMailer, mailer_from_settings

SENDER = "noreply@example.org"


def test_smtp_backend_builds_an_smtp_mailer_from_the_url():
    mailer = mailer_from_settings("smtp", "smtp://mail.example.org:2525", SENDER, None)

    assert isinstance(mailer, SmtpMailer)
    assert (mailer.target.host, mailer.target.port) == ("mail.example.org", 2525)
    assert mailer.sender == SENDER


def test_smtp_backend_without_a_url_is_a_clear_error():
    with pytest.raises(ConfigurationError, match="ROSTERSYNC_SMTP_URL is not set"):
        mailer_from_settings("smtp", None, SENDER, None)


def test_file_backend_builds_a_file_mailer(tmp_path):
    mailer = mailer_from_settings("file", None, SENDER, str(tmp_path))

    assert isinstance(mailer, FileMailer)
    assert mailer.directory == tmp_path


def test_file_backend_without_a_directory_is_a_clear_error():
    with pytest.raises(ConfigurationError, match="ROSTERSYNC_EMAIL_FILE_DIR is not set"):
        mailer_from_settings("file", None, SENDER, None)


def test_console_backend_builds_a_console_mailer():
    mailer = mailer_from_settings(" Console ", None, SENDER, None)

    assert isinstance(mailer, ConsoleMailer)
    assert mailer.sender == SENDER


def test_unknown_backend_is_a_clear_error():
    with pytest.raises(ConfigurationError, match="one of: smtp, file, console"):
        mailer_from_settings("carrier-pigeon", None, SENDER, None)
