//! The sandbox's `GET /v3/certificates`: a platform certificate for the
//! sandbox's WeChat Pay key, encrypted with the APIv3 key from `sandbox.json`,
//! in the reply WeChat Pay gives merchants that still use platform
//! certificates. The reply is signed like every sandbox reply (with the
//! public key id, a key the client already trusts).
//!
//! The certificate is self-signed by the sandbox's WeChat Pay key, built here
//! in DER: X.509 v3, a serial derived from the key (stable across restarts),
//! valid from the start of yesterday (UTC) for five years.

use aws_lc_rs::digest::{digest, SHA256};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde_json::json;
use wechatpay_runtime::DateTime;
use wechatpay_transport::keys::PublicKeyDer;
use wechatpay_transport::notification::{encrypt_resource, ApiV3Key};
use wechatpay_transport::sign::generate_nonce;
use wechatpay_transport::{AuthScheme, EndpointInfo, Method};

use super::keys::{SandboxKeys, WXP_PUB_FILE};
use super::replies::Rejection;
use super::validate::{authenticate, Incoming};

/// Where WeChat Pay serves the download.
pub const PATH: &str = "/v3/certificates";

/// Answers `GET /v3/certificates` for a merchant or the service provider (who may verify
/// with platform certificates too): the request is authenticated like any call of either,
/// then the encrypted list is returned.
pub fn answer(keys: &SandboxKeys, request: &Incoming<'_>, now: i64) -> Result<Vec<u8>, Rejection> {
    if request.method != "GET" {
        return Err(Rejection::new(
            405,
            "INVALID_REQUEST",
            format!("{PATH} takes GET, not {}", request.method),
        ));
    }
    // Both sign the merchant scheme; the mchid tells them apart.
    authenticate(keys, &download_info(AuthScheme::Merchant), request, now).or_else(|merchant| {
        authenticate(keys, &download_info(AuthScheme::Partner), request, now).map_err(|_| merchant)
    })?;
    reply_body(keys, now).map_err(|e| Rejection::new(500, "SYSTEM_ERROR", e))
}

/// The operation as the authentication check needs to see it. Fields this
/// sandbox does not use come from the first schema operation.
fn download_info(auth: AuthScheme) -> EndpointInfo {
    EndpointInfo {
        operation_id: "download-certificates",
        title: "下载平台证书",
        method: Method::Get,
        path: wechatpay_runtime::PathTemplate::new(PATH),
        auth,
        body: wechatpay_runtime::BodyKind::None,
        headers: &[],
        rate_limit_source: None,
        rate_limit: None,
        request_number: None,
        pagination: None,
        errors: &[],
        request_examples: &[],
        response_examples: &[],
        ..*wechatpay_endpoints::ALL[0]
    }
}

/// The reply body: `{"data": [{serial_no, effective_time, expire_time, encrypt_certificate}]}`.
pub fn reply_body(keys: &SandboxKeys, now: i64) -> Result<Vec<u8>, String> {
    let key =
        ApiV3Key::new(&keys.identity.apiv3_key).map_err(|e| format!("sandbox APIv3 key: {e}"))?;
    let certificate = certificate(keys, now)?;
    let nonce: String = generate_nonce().chars().take(12).collect();
    let sealed = encrypt_resource(&key, certificate.pem.as_bytes(), &nonce, "certificate", "")
        .map_err(|e| e.to_string())?;
    let body = json!({"data": [{
        "serial_no": certificate.serial,
        "effective_time": DateTime::from_unix(certificate.not_before, 480).to_string(),
        "expire_time": DateTime::from_unix(certificate.not_after, 480).to_string(),
        "encrypt_certificate": {
            "algorithm": sealed.algorithm,
            "nonce": sealed.nonce,
            "associated_data": sealed.associated_data,
            "ciphertext": sealed.ciphertext,
        },
    }]});
    serde_json::to_vec(&body).map_err(|e| e.to_string())
}

/// The sandbox's platform certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxCertificate {
    /// Upper-case hex, as `Wechatpay-Serial` and `openssl x509 -serial` write it.
    pub serial: String,
    /// The certificate, PEM-encoded.
    pub pem: String,
    /// Start of its validity, Unix seconds.
    pub not_before: i64,
    /// End of its validity, Unix seconds.
    pub not_after: i64,
}

/// Builds the certificate of the sandbox's WeChat Pay key, as of `now`.
pub fn certificate(keys: &SandboxKeys, now: i64) -> Result<SandboxCertificate, String> {
    let spki = PublicKeyDer::from_pem_file(keys.dir.join(WXP_PUB_FILE))
        .map_err(|e| wechatpay_protocol::text::error_chain(&e))?;
    let spki = spki.der();
    // Stable across restarts: 20 bytes of the key's SHA-256, positive and
    // without a leading zero byte.
    let mut serial = digest(&SHA256, spki).as_ref()[..20].to_vec();
    serial[0] = (serial[0] & 0x7F) | 0x40;
    let day = 86_400;
    let not_before = now.div_euclid(day) * day - day;
    let not_after = not_before + 5 * 365 * day;

    let algorithm = seq(&[&tlv(0x06, SHA256_WITH_RSA), &[0x05, 0x00]]);
    let name = seq(&[
        &rdn(OID_ORGANIZATION, "Tenpay.com (wechatpay sandbox)"),
        &rdn(OID_COMMON_NAME, "WeChat Pay platform certificate (sandbox)"),
    ]);
    let tbs = seq(&[
        &tlv(0xA0, &tlv(0x02, &[2])),
        &tlv(0x02, &serial),
        &algorithm,
        &name,
        &seq(&[&utc_time(not_before), &utc_time(not_after)]),
        &name,
        spki,
    ]);
    let signature = keys
        .reply_signer
        .sign(&tbs)
        .map_err(|e| format!("cannot sign the sandbox certificate: {e}"))?;
    let mut bits = vec![0u8];
    bits.extend_from_slice(&signature);
    let der = seq(&[&tbs, &algorithm, &tlv(0x03, &bits)]);

    let b64 = BASE64.encode(&der);
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(line).unwrap_or_default());
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    Ok(SandboxCertificate {
        serial: serial.iter().map(|b| format!("{b:02X}")).collect(),
        pem,
        not_before,
        not_after,
    })
}

/// 1.2.840.113549.1.1.11
const SHA256_WITH_RSA: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0B];
/// 2.5.4.3
const OID_COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];
/// 2.5.4.10
const OID_ORGANIZATION: &[u8] = &[0x55, 0x04, 0x0A];

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

fn seq(parts: &[&[u8]]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

/// One relative distinguished name: `SET { SEQUENCE { OID, UTF8String } }`.
fn rdn(oid: &[u8], value: &str) -> Vec<u8> {
    tlv(0x31, &seq(&[&tlv(0x06, oid), &tlv(0x0C, value.as_bytes())]))
}

/// `YYMMDDHHMMSSZ` (years 1950 to 2049, as X.509 requires for UTCTime).
fn utc_time(unix: i64) -> Vec<u8> {
    let t = DateTime::from_unix(unix, 0);
    let (y, mo, d) = t.date();
    let (h, mi, s) = t.time();
    let text = format!("{:02}{mo:02}{d:02}{h:02}{mi:02}{s:02}Z", y % 100);
    tlv(0x17, text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use wechatpay_transport::certificates::decrypt_certificates;
    use wechatpay_transport::keys::Certificate;

    #[test]
    fn the_certificate_parses_and_decrypts_with_the_apiv3_key() {
        let dir = tempfile::tempdir().unwrap();
        let (keys, _) = SandboxKeys::load_or_create(dir.path()).unwrap();
        assert_eq!(keys.identity.apiv3_key.len(), 32);
        let now = 1_767_225_600; // 2026-01-01T00:00:00Z
        let cert = certificate(&keys, now).unwrap();
        let parsed = Certificate::from_pem(&cert.pem).unwrap();
        assert_eq!(parsed.serial, cert.serial);
        assert_eq!(
            parsed.public_key,
            PublicKeyDer::from_pem_file(dir.path().join(WXP_PUB_FILE)).unwrap()
        );
        assert_eq!(cert.not_before, now - 86_400);
        // The serial is stable for the key.
        assert_eq!(
            certificate(&keys, now + 999_999).unwrap().serial,
            cert.serial
        );
        let body = reply_body(&keys, now).unwrap();
        let key = ApiV3Key::new(&keys.identity.apiv3_key).unwrap();
        let list = decrypt_certificates(&body, &key).unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].serial_no, cert.serial);
        assert_eq!(list[0].not_after, cert.not_after);
        assert_eq!(list[0].effective_time, "2025-12-31T08:00:00+08:00");
    }
}
