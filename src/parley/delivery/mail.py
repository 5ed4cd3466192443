"""Email over SMTP (aiosmtplib): notifications in batches, each with a one-click unsubscribe
(RFC 8058: `List-Unsubscribe` and `List-Unsubscribe-Post`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import aiosmtplib

log = logging.getLogger(__name__)

TIMEOUT_S = 20.0


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    username: str
    password: str
    starttls: bool
    sender: str


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str
    unsubscribe_url: str


def build(mail: Mail, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1].strip("> "))
    message["List-Unsubscribe"] = f"<{mail.unsubscribe_url}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(f"{mail.text}\n\n--\nNo more email from us: {mail.unsubscribe_url}\n")
    return message


class Mailer:
    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    async def send(self, mails: list[Mail]) -> int:
        """Sends `mails` over one SMTP connection; how many the server took."""
        if not mails:
            return 0
        s = self.settings
        sent = 0
        smtp = aiosmtplib.SMTP(
            hostname=s.host, port=s.port, start_tls=s.starttls, timeout=TIMEOUT_S
        )
        async with smtp:
            if s.username:
                await smtp.login(s.username, s.password)
            for mail in mails:
                # One message refused (its recipient, its content) is one lost: the others
                # of the batch, claimed with it, still go.
                try:
                    await smtp.send_message(build(mail, s.sender))
                    sent += 1
                except (
                    aiosmtplib.SMTPRecipientsRefused,
                    aiosmtplib.SMTPDataError,
                    aiosmtplib.SMTPSenderRefused,
                ) as refused:
                    log.warning("mail: the server refused a message: %s", refused)
        return sent
