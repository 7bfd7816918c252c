//! `wechatpay certificates`: download the merchant's platform certificates
//! (`GET /v3/certificates`), check the download's signature with a key already
//! trusted, decrypt them with the APIv3 key, print them and optionally write
//! them where `--platform-cert` can read them.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use wechatpay_transport::{AuthScheme, CertificateDownload, RetryPolicy};

use crate::args::CertificatesArgs;
use crate::commands::call::{apiv3_key, builder, classify};
use crate::config::Settings;
use crate::exit::CliError;

/// What the command prints: JSON for stdout and a note for stderr.
#[derive(Debug)]
pub struct Downloaded {
    pub stdout: Value,
    pub note: String,
}

/// The settings and client; nothing is sent yet.
pub fn plan(
    args: &CertificatesArgs,
) -> Result<(wechatpay_transport::Client, wechatpay_transport::ApiV3Key), CliError> {
    let settings = Settings::resolve(&args.conn, args.apiv3_key.as_deref())?;
    let key = settings.apiv3_key.as_ref().ok_or_else(|| {
        CliError::config(
            "missing APIv3 key (it decrypts the certificates): set WECHATPAY_APIV3_KEY, `apiv3_key` in the profile or --apiv3-key",
        )
    })?;
    let key = apiv3_key(key)?;
    let client = builder(&settings, AuthScheme::Merchant, args.timeout)?
        .retry(RetryPolicy::with_max_retries(2))
        .build()
        .map_err(|e| CliError::config(crate::exit::error_chain(&e)))?;
    Ok((client, key))
}

/// Downloads, then writes the files (with `--out`).
pub async fn run(
    args: &CertificatesArgs,
    client: &wechatpay_transport::Client,
    key: &wechatpay_transport::ApiV3Key,
) -> Result<Downloaded, CliError> {
    let download = client
        .download_certificates(key)
        .await
        .map_err(|e| classify(e, None, true))?;
    let list = match download {
        CertificateDownload::PublicKeyOnly => {
            return Ok(Downloaded {
                stdout: json!({"mode": "public-key-only", "certificates": []}),
                note: "no platform certificates (404 RESOURCE_NOT_EXISTS): this merchant uses WeChat Pay public keys only; configure --public-key-id and --public-key".to_owned(),
            })
        }
        CertificateDownload::Certificates(list) => list,
    };
    let mut shown = Vec::new();
    for cert in &list {
        let mut entry = json!({
            "serial_no": cert.serial_no,
            "effective_time": cert.effective_time,
            "expire_time": cert.expire_time,
            "pem": cert.pem,
        });
        if let Some(dir) = &args.out {
            let path = write(dir, &cert.serial_no, &cert.pem)?;
            entry["file"] = json!(path.display().to_string());
        }
        shown.push(entry);
    }
    let serials: Vec<&str> = list.iter().map(|c| c.serial_no.as_str()).collect();
    Ok(Downloaded {
        stdout: json!({"mode": "platform-certificates", "certificates": shown}),
        note: format!(
            "downloaded {} platform certificate(s), signature verified, decrypted: {}",
            list.len(),
            serials.join(", ")
        ),
    })
}

/// Writes `DIR/wechatpay_<SERIAL>.pem` (the serial is hex, checked against
/// the certificate itself, so it is a safe file name).
fn write(dir: &Path, serial: &str, pem: &str) -> Result<PathBuf, CliError> {
    let fail =
        |path: &Path, e: std::io::Error| CliError::config(format!("{}: {e}", path.display()));
    std::fs::create_dir_all(dir).map_err(|e| fail(dir, e))?;
    let path = dir.join(format!("wechatpay_{serial}.pem"));
    std::fs::write(&path, pem).map_err(|e| fail(&path, e))?;
    Ok(path)
}
