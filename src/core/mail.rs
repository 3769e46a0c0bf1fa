//! Outgoing mail: SMTP through lettre when configured, otherwise the console mailer
//! that writes the mail (with its link and code) to the log, so verification works
//! on a fresh machine.

use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor, message::header::ContentType,
};

/// A verification mail or any other notice.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub body: String,
    /// The verification link, when the mail carries one.
    pub link: Option<String>,
    /// The verification code, when the mail carries one.
    pub code: Option<String>,
}

pub enum Mailer {
    Console,
    /// Keeps mails in memory (tests and embedding programs read them back).
    Capture(std::sync::Arc<std::sync::Mutex<Vec<Mail>>>),
    Smtp {
        transport: AsyncSmtpTransport<Tokio1Executor>,
        from: String,
    },
}

impl Mailer {
    /// SMTP when `smtp_url` is set (e.g. `smtps://user:pass@smtp.example.com`),
    /// console otherwise.
    pub fn new(smtp_url: Option<&str>, from: &str) -> anyhow::Result<Self> {
        match smtp_url {
            Some(url) if !url.is_empty() => Ok(Mailer::Smtp {
                transport: AsyncSmtpTransport::<Tokio1Executor>::from_url(url)?.build(),
                from: from.to_owned(),
            }),
            _ => Ok(Mailer::Console),
        }
    }

    /// Sends a mail. Failures are logged and reported, never panics.
    pub async fn send(&self, mail: Mail) -> Result<(), super::Error> {
        match self {
            Mailer::Console => {
                tracing::info!(
                    to = %mail.to,
                    subject = %mail.subject,
                    link = mail.link.as_deref(),
                    code = mail.code.as_deref(),
                    body = %mail.body,
                    "mail (console)"
                );
                Ok(())
            }
            Mailer::Capture(outbox) => {
                outbox.lock().map_err(super::Error::internal)?.push(mail);
                Ok(())
            }
            Mailer::Smtp { transport, from } => {
                let msg = Message::builder()
                    .from(from.parse().map_err(super::Error::internal)?)
                    .to(mail
                        .to
                        .parse()
                        .map_err(|_| super::Error::invalid("invalid email address"))?)
                    .subject(mail.subject)
                    .header(ContentType::TEXT_PLAIN)
                    .body(mail.body)
                    .map_err(super::Error::internal)?;
                transport.send(msg).await.map_err(super::Error::internal)?;
                Ok(())
            }
        }
    }
}
