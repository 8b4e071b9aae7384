//! Delivering one outbox row: SMTP through lettre, or nothing beyond the outbox itself.
use lettre::{
    message::{header::ContentType, Mailbox, MultiPart, SinglePart},
    transport::smtp::authentication::Credentials,
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
};

use crate::{
    models::_entities::mail_outbox,
    settings::{MailSettings, MailTransportKind, SmtpTls},
};

#[derive(Clone)]
pub enum Transport {
    Outbox,
    Smtp {
        smtp: AsyncSmtpTransport<Tokio1Executor>,
        from: Mailbox,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("mail configuration: {0}")]
    Config(String),
    #[error("building the message: {0}")]
    Message(String),
    #[error("SMTP: {0}")]
    Smtp(#[from] lettre::transport::smtp::Error),
}

impl Transport {
    /// # Errors
    /// `TransportError::Config` for a bad `from` address or SMTP host.
    pub fn from_settings(mail: &MailSettings) -> Result<Self, TransportError> {
        if mail.transport == MailTransportKind::Outbox {
            return Ok(Self::Outbox);
        }
        let from: Mailbox = mail
            .from
            .parse()
            .map_err(|e| TransportError::Config(format!("mail.from {:?}: {e}", mail.from)))?;
        let s = &mail.smtp;
        let mut builder = match s.tls {
            SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.host),
            SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&s.host)?,
            SmtpTls::Implicit => AsyncSmtpTransport::<Tokio1Executor>::relay(&s.host)?,
        };
        if s.port != 0 {
            builder = builder.port(s.port);
        }
        if !s.username.is_empty() {
            builder = builder.credentials(Credentials::new(s.username.clone(), s.password.clone()));
        }
        Ok(Self::Smtp {
            smtp: builder.build(),
            from,
        })
    }

    /// Sends the mail; a no-op for the outbox transport. Returns whether it left the shop.
    ///
    /// # Errors
    /// Bad recipient address or SMTP failure (retried by the job queue).
    pub async fn send(&self, mail: &mail_outbox::Model) -> Result<bool, TransportError> {
        let Self::Smtp { smtp, from } = self else {
            return Ok(false);
        };
        let to: Mailbox = mail
            .to_address
            .parse()
            .map_err(|e| TransportError::Message(format!("recipient: {e}")))?;
        let message = Message::builder()
            .from(from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .message_id(Some(format!("<{}@emporium>", mail.pid)))
            .multipart(
                MultiPart::alternative()
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_PLAIN)
                            .body(mail.text_body.clone()),
                    )
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_HTML)
                            .body(mail.html_body.clone()),
                    ),
            )
            .map_err(|e| TransportError::Message(e.to_string()))?;
        smtp.send(message).await?;
        Ok(true)
    }
}
