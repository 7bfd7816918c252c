//! The connection of a PostgreSQL journal: owned by a thread of its own, so the
//! journal can be used from async code (the blocking `postgres` client runs its
//! own runtime, which must not start inside another), and reconnected there.
//!
//! A call that fails because the server went away is retried on a new
//! connection, for at most [`Conn::patience`], with [`Conn::paused`] set
//! meanwhile: the runner stops sending until the journal answers again. Every
//! call is one transaction, so a retried call either committed or did nothing;
//! one whose COMMIT was lost is applied twice, which each call tolerates.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use postgres::config::SslMode;
use postgres::{Client, Config, NoTls};

use crate::error::CampaignError;

type Job = Box<dyn FnOnce(&mut Link) + Send>;

/// The connection and how to make it again.
pub(super) struct Link {
    client: Option<Client>,
    config: Config,
    tls: Option<tokio_postgres_rustls::MakeRustlsConnect>,
    label: String,
}

impl Link {
    fn connect(&mut self) -> Result<&mut Client, postgres::Error> {
        if self.client.as_ref().is_some_and(Client::is_closed) {
            self.client = None;
        }
        if self.client.is_none() {
            let client = match &self.tls {
                Some(tls) => self.config.connect(tls.clone())?,
                None => self.config.connect(NoTls)?,
            };
            self.client = Some(client);
        }
        // Just set, or kept because it is open.
        Ok(self.client.as_mut().expect("connected above"))
    }
}

/// A handle on the connection's thread.
pub(super) struct Conn {
    jobs: mpsc::Sender<Job>,
    paused: Arc<AtomicBool>,
    /// How long a call waits for the server to come back (0: fail at once).
    patience: Duration,
    label: String,
}

/// Whether an error means the connection is gone (retry on a new one), not that
/// the statement was refused.
fn connection_lost(e: &postgres::Error) -> bool {
    let mut source = std::error::Error::source(e);
    let mut io = false;
    while let Some(s) = source {
        io |= s.is::<std::io::Error>();
        source = s.source();
    }
    e.is_closed()
        || io
        || e.code().is_some_and(|c| {
            // admin_shutdown, crash_shutdown, cannot_connect_now, connection exceptions.
            let c = c.code();
            c.starts_with("08") || c == "57P01" || c == "57P02" || c == "57P03"
        })
}

/// A transaction the server rolled back because of another one: a deadlock
/// (`40P01`) or a serialization failure (`40001`).
fn rolled_back_by_conflict(e: &postgres::Error) -> bool {
    e.code()
        .is_some_and(|c| c.code() == "40P01" || c.code() == "40001")
}

impl Conn {
    /// Connects (once, failing at once if the server cannot be reached).
    pub(super) fn open(
        url: &str,
        label: String,
        patience: Duration,
    ) -> Result<Conn, CampaignError> {
        let mut config: Config = url.parse().map_err(|e| CampaignError::pg(&label, e))?;
        // A server that stops answering (a half-open connection) must fail a call
        // in seconds, not after TCP's quarter of an hour of retransmissions: the
        // worker then pauses instead of sending on under a lease it cannot renew.
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        if config.get_tcp_user_timeout().is_none() {
            config.tcp_user_timeout(Duration::from_secs(10));
        }
        config.keepalives(true);
        if config.get_keepalives_idle() > Duration::from_secs(10) {
            config.keepalives_idle(Duration::from_secs(10));
        }
        let tls = match config.get_ssl_mode() {
            SslMode::Disable => None,
            _ => Some(tls_connector(&label)?),
        };
        let mut link = Link {
            client: None,
            config,
            tls,
            label: label.clone(),
        };
        let (jobs, inbox) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("campaign-postgres".into())
            .spawn(move || {
                for job in inbox {
                    job(&mut link);
                }
            })
            .map_err(|e| CampaignError::task("cannot start the PostgreSQL journal thread", e))?;
        let conn = Conn {
            jobs,
            paused: Arc::new(AtomicBool::new(false)),
            patience,
            label,
        };
        // The first connection, on the connection's thread too: a caller inside an
        // async runtime must never run the client's own.
        conn.start(|_| Ok(()))?.recv().map_err(|_| conn.gone())??;
        Ok(conn)
    }

    /// Set while a call waits for the server to come back.
    pub(super) fn paused(&self) -> Arc<AtomicBool> {
        self.paused.clone()
    }

    /// Starts `work` on the connection's thread, once (no retry); its answer
    /// comes on the receiver. For work fed by the caller as it runs (creation).
    pub(super) fn start<R: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Client) -> Result<R, postgres::Error> + Send + 'static,
    ) -> Result<mpsc::Receiver<Result<R, CampaignError>>, CampaignError> {
        let (reply, answer) = mpsc::channel();
        let job: Job = Box::new(move |link: &mut Link| {
            let label = link.label.clone();
            let result = link
                .connect()
                .and_then(work)
                .map_err(|e| CampaignError::pg(&label, e));
            let _ = reply.send(result);
        });
        self.jobs.send(job).map_err(|_| self.gone())?;
        Ok(answer)
    }

    fn gone(&self) -> CampaignError {
        CampaignError::Journal(format!(
            "journal {}: its connection thread is gone",
            self.label
        ))
    }

    /// Runs `work` in one transaction on the connection's thread; a lost
    /// connection is made again and `work` run again, for at most the patience.
    pub(super) fn call<R: Send + 'static>(
        &self,
        mut work: impl FnMut(&mut postgres::Transaction<'_>) -> Result<R, postgres::Error>
            + Send
            + 'static,
    ) -> Result<R, CampaignError> {
        let (reply, answer) = mpsc::channel();
        let paused = self.paused.clone();
        let patience = self.patience;
        let job: Job = Box::new(move |link: &mut Link| {
            let started = Instant::now();
            let mut wait = Duration::from_millis(100);
            let result = loop {
                let attempt = link.connect().and_then(|client| {
                    let mut tx = client.transaction()?;
                    let value = work(&mut tx)?;
                    tx.commit()?;
                    Ok(value)
                });
                match attempt {
                    // Rolled back by the server to break a deadlock (or a serialization
                    // conflict) with another worker: nothing was applied, run it again.
                    Err(e) if rolled_back_by_conflict(&e) && started.elapsed() < patience => {
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    Err(e) if connection_lost(&e) && started.elapsed() < patience => {
                        paused.store(true, Ordering::SeqCst);
                        link.client = None;
                        std::thread::sleep(wait);
                        wait = (wait * 2).min(Duration::from_secs(2));
                    }
                    other => break other,
                }
            };
            if result.is_ok() {
                paused.store(false, Ordering::SeqCst);
            }
            let _ = reply.send(result);
        });
        self.jobs.send(job).map_err(|_| self.gone())?;
        match answer.recv() {
            Ok(result) => result.map_err(|e| CampaignError::pg(&self.label, e)),
            Err(_) => Err(self.gone()),
        }
    }
}

/// TLS for `sslmode=prefer|require`, as libpq reads them: the connection is
/// encrypted and the server's certificate is not checked (a stock server's
/// self-signed one works) — unless `PGSSLROOTCERT` names a CA file (libpq's
/// variable): the certificate must then chain to it and name the host
/// (libpq's `verify-full`). rustls on aws-lc-rs, as the HTTP client uses.
fn tls_connector(label: &str) -> Result<tokio_postgres_rustls::MakeRustlsConnect, CampaignError> {
    use rustls::pki_types::pem::PemObject;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| CampaignError::Journal(format!("journal {label}: TLS set-up: {e}")))?;
    let config = match std::env::var_os("PGSSLROOTCERT") {
        Some(file) => {
            let mut roots = rustls::RootCertStore::empty();
            let certs = rustls::pki_types::CertificateDer::pem_file_iter(&file)
                .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                .map_err(|e| {
                    CampaignError::Input(format!(
                        "journal {label}: PGSSLROOTCERT {}: {e}",
                        std::path::Path::new(&file).display()
                    ))
                })?;
            for cert in certs {
                roots.add(cert).map_err(|e| {
                    CampaignError::Input(format!(
                        "journal {label}: PGSSLROOTCERT {}: {e}",
                        std::path::Path::new(&file).display()
                    ))
                })?;
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        None => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(EncryptOnly(provider)))
            .with_no_client_auth(),
    };
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

/// libpq's `sslmode=require` without a root certificate: the handshake's
/// signatures are checked (the server holds the key of the certificate it shows),
/// the certificate itself is not.
#[derive(Debug)]
struct EncryptOnly(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
