//! Sending one message over SMTP with lettre: TLS verified against the configured CA (or the
//! system's roots), implicit or STARTTLS; plaintext and unverified TLS only when configured,
//! and logged.

use std::time::Duration;

use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, CertificateStore, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::{MailConfig, MailTls};

pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

/// A message as the outbox holds it.
pub struct Outgoing<'a> {
    pub to: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
    pub html: &'a str,
}

impl Mailer {
    pub fn new(config: &MailConfig) -> anyhow::Result<Mailer> {
        let from: Mailbox =
            config.from.parse().map_err(|e| anyhow::anyhow!("mail.from {:?} is not an address: {e}", config.from))?;
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host).port(config.port());
        match config.tls {
            MailTls::None => {
                if config.password.is_some() {
                    anyhow::bail!(
                        "mail.tls = \"none\" would send mail.password in the clear: use starttls or implicit"
                    );
                }
                tracing::warn!(host = %config.host, "mail is sent IN THE CLEAR (mail.tls = \"none\")");
            }
            tls => {
                let parameters = tls_parameters(config)?;
                builder = builder.tls(if tls == MailTls::Implicit {
                    Tls::Wrapper(parameters)
                } else {
                    Tls::Required(parameters)
                });
            }
        }
        if let (Some(user), Some(password)) = (&config.username, &config.password) {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        let transport = builder.timeout(Some(Duration::from_secs(config.timeout_secs.max(1)))).build();
        Ok(Mailer { transport, from })
    }

    pub async fn send(&self, message: &Outgoing<'_>) -> anyhow::Result<()> {
        let to: Mailbox = message.to.parse().map_err(|e| anyhow::anyhow!("{:?} is not an address: {e}", message.to))?;
        let email = Message::builder().from(self.from.clone()).to(to).subject(message.subject).multipart(
            MultiPart::alternative()
                .singlepart(SinglePart::builder().header(ContentType::TEXT_PLAIN).body(message.text.to_string()))
                .singlepart(SinglePart::builder().header(ContentType::TEXT_HTML).body(message.html.to_string())),
        )?;
        self.transport.send(email).await?;
        Ok(())
    }
}

fn tls_parameters(config: &MailConfig) -> anyhow::Result<TlsParameters> {
    let mut builder = TlsParameters::builder(config.host.clone());
    if let Some(ca_file) = &config.ca_file {
        let pem = std::fs::read(ca_file)
            .map_err(|e| anyhow::anyhow!("cannot read mail.ca_file {}: {e}", ca_file.display()))?;
        let certificate = Certificate::from_pem(&pem)
            .map_err(|e| anyhow::anyhow!("mail.ca_file {} holds no certificate: {e}", ca_file.display()))?;
        builder = builder.certificate_store(CertificateStore::None).add_root_certificate(certificate);
    }
    if config.tls_insecure_skip_verify {
        tracing::warn!(host = %config.host, "mail TLS certificate verification is OFF (mail.tls_insecure_skip_verify)");
        builder = builder.dangerous_accept_invalid_certs(true).dangerous_accept_invalid_hostnames(true);
    }
    Ok(builder.build_rustls()?)
}
