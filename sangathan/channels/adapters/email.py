"""Email through Django's email backend (``EMAIL_BACKEND``, SMTP in production).

One connection per batch. Each message carries a one-click unsubscribe link (RFC 8058
``List-Unsubscribe`` and ``List-Unsubscribe-Post`` headers and a link in the text) built by
``sangathan.channels.optout.unsubscribe_url``; the provider reference is the Message-ID.
SMTP 4xx replies and lost connections are transient, 5xx replies permanent. After a lost
connection the rest of the batch is retried later rather than waiting on a dead server.
"""

from __future__ import annotations

import smtplib
from html import escape

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.message import make_msgid
from django.utils import translation
from django.utils.translation import gettext

from sangathan.channels.adapters.base import BaseAdapter, OutgoingMessage, SendResult


def unsubscribe_link(person_id: int | None, channel: str = "email") -> str:
    if person_id is None:
        return ""
    try:
        from sangathan.channels.optout import unsubscribe_url
    except ImportError:
        return ""
    return unsubscribe_url(person_id, channel) or ""


def build_email(message: OutgoingMessage) -> EmailMultiAlternatives:
    unsubscribe = unsubscribe_link(message.person_id)
    # The footer in the email's own language, not the worker's.
    with translation.override("en" if (message.language or "").startswith("en") else "hi"):
        stop_text = gettext("To stop these messages, open")
    text = message.body
    html = "".join(f"<p>{escape(p)}</p>" for p in message.body.split("\n\n") if p.strip())
    if message.link:
        text += f"\n\n{message.link}"
        html += f'<p><a href="{escape(message.link)}">{escape(message.link)}</a></p>'
    headers = {"Message-ID": make_msgid(domain=_domain())}
    if unsubscribe:
        text += f"\n\n--\n{stop_text}: {unsubscribe}"
        html += (
            f'<hr><p style="font-size:small">{escape(stop_text)}: '
            f'<a href="{escape(unsubscribe)}">{escape(unsubscribe)}</a></p>'
        )
        headers["List-Unsubscribe"] = f"<{unsubscribe}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    if message.broadcast_code:
        headers["X-Sangathan-Broadcast"] = message.broadcast_code
    mail = EmailMultiAlternatives(
        subject=message.title.replace("\n", " ")[:200],
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[message.to],
        headers=headers,
    )
    mail.attach_alternative(
        f'<html lang="{message.language}"><body>{html}</body></html>', "text/html"
    )
    return mail


def _domain() -> str:
    sender = getattr(settings, "DEFAULT_FROM_EMAIL", "") or ""
    return sender.rpartition("@")[2].strip(">") or "localhost"


class EmailAdapter(BaseAdapter):
    name = "smtp"
    channel = "email"

    def send(self, messages: list[OutgoingMessage]) -> list[SendResult]:
        results: list[SendResult] = []
        connection = get_connection(fail_silently=False)
        broken = ""
        try:
            for m in messages:
                if broken:
                    results.append(SendResult.transient(m, broken))
                    continue
                mail = build_email(m)
                mail.connection = connection
                try:
                    sent = connection.send_messages([mail])
                except smtplib.SMTPRecipientsRefused as exc:
                    codes = [code for code, _msg in exc.recipients.values()]
                    results.append(_by_code(m, min(codes, default=550), str(exc.recipients)))
                except smtplib.SMTPResponseException as exc:
                    # SMTPSenderRefused, SMTPDataError, …: the server answered with a code.
                    results.append(_by_code(m, exc.smtp_code, _text(exc.smtp_error)))
                except (smtplib.SMTPException, OSError) as exc:
                    broken = f"{type(exc).__name__}: {exc}"
                    results.append(SendResult.transient(m, broken))
                    connection.close()
                else:
                    if sent:
                        results.append(SendResult.accepted(m, mail.extra_headers["Message-ID"]))
                    else:
                        results.append(SendResult.transient(m, "the backend sent nothing"))
        finally:
            try:
                connection.close()
            except (smtplib.SMTPException, OSError):
                pass
        return results


def _text(value) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def _by_code(message: OutgoingMessage, code: int, error: str) -> SendResult:
    error = f"SMTP {code}: {error}"
    if 400 <= code < 500:
        return SendResult.transient(message, error)
    return SendResult.rejected(message, error)
