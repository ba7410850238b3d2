"""Delivery through an SMTP relay (Mailpit locally, or any submission server).

The standard library's ``smtplib`` runs in a thread, one connection per email, with a
timeout. The email is the same MIME message the outbox writes (:func:`build_email`).

Duplicates: SMTP has no way to ask whether an earlier, interrupted submission got
through. If the worker dies after the server accepted the message but before the ledger
says ``sent``, the retried activity submits it again. The Message-ID header is derived
from the send key, so both copies carry the same Message-ID and receiving systems (and
people's mail clients) can recognise the second one as a duplicate.

Errors: a 5xx refusal of the recipient or of the message is permanent
(:class:`PermanentMailError`), and so is a message smtplib cannot submit (an internationalised
address to a server without SMTPUTF8, content it cannot encode); 4xx replies, connection and
TLS problems, and refused credentials or sender (a configuration problem ops can fix) are
retried.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from email.message import EmailMessage

from accord.mail.compose import COMPOSE_ERRORS, build_email, not_composable
from accord.mail.message import Message, PermanentMailError, unavailable


class SmtpMailer:
    def __init__(
        self,
        host: str,
        port: int = 587,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = True,
        *,
        timeout: float = 30,
    ):
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.starttls = starttls
        self.timeout = timeout

    async def send(self, message: Message) -> str:
        mail = build_email(message)
        try:
            await asyncio.to_thread(self._submit, mail, message.to_email)
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()), (0, b""))
            raise _classified(code, f"recipient refused: {_text(reply)}") from None
        except smtplib.SMTPDataError as exc:
            raise _classified(exc.smtp_code, f"message refused: {_text(exc.smtp_error)}") from None
        except smtplib.SMTPAuthenticationError as exc:
            raise unavailable(f"SMTP login refused ({exc.smtp_code}): {_text(exc.smtp_error)}") from None
        except smtplib.SMTPSenderRefused as exc:
            raise unavailable(f"SMTP sender {exc.sender} refused ({exc.smtp_code}): {_text(exc.smtp_error)}") from None
        except smtplib.SMTPResponseException as exc:
            raise unavailable(f"SMTP server answered {exc.smtp_code}: {_text(exc.smtp_error)}") from None
        except (smtplib.SMTPException, OSError) as exc:  # includes timeouts, refused connections, TLS errors
            raise unavailable(f"SMTP server {self.host}:{self.port} unavailable: {type(exc).__name__}: {exc}") from None
        return str(mail["Message-ID"])

    def _submit(self, mail: EmailMessage, to_email: str) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            smtp.ehlo()
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if self.username:
                smtp.login(self.username, self.password or "")
            # Only the one recipient: send_message raises if it is refused.
            try:
                smtp.send_message(mail, to_addrs=[to_email])
            except smtplib.SMTPNotSupportedError as exc:  # a non-ASCII address, and no SMTPUTF8
                raise PermanentMailError(f"the SMTP server cannot take this message: {exc}") from None
            except COMPOSE_ERRORS as exc:  # raised while writing the message, before the server sees it
                raise not_composable(exc) from None


def _classified(code: int, text: str) -> Exception:
    if 500 <= code < 600:
        return PermanentMailError(f"SMTP {code}: {text}")
    return unavailable(f"SMTP {code}: {text}")


def _text(reply: bytes | str) -> str:
    return (reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply))[:500]
