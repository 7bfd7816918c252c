//! The sandbox's reading of a `multipart/form-data` upload (upload-image): the
//! JSON `meta` part is what the client signed and what the schema checks; the
//! `file` part must be there and within the size limit. A strict reader of the
//! small, whole bodies a client sends, not a general MIME parser.

use crate::replies::Rejection;

use wechatpay_runtime::meta::MAX_UPLOAD_FILE_BYTES as MAX_FILE_BYTES;

/// The `meta` part of a multipart body whose `Content-Type` is `content_type`.
pub fn meta_part<'b>(content_type: Option<&str>, body: &'b [u8]) -> Result<&'b [u8], Rejection> {
    let bad = |why: &str| {
        Rejection::new(
            400,
            "INVALID_REQUEST",
            format!("multipart/form-data body: {why}"),
        )
    };
    let boundary = content_type
        .and_then(|ct| ct.strip_prefix("multipart/form-data"))
        .and_then(|rest| {
            rest.split(';')
                .filter_map(|p| p.trim().strip_prefix("boundary="))
                .next()
        })
        .map(|b| b.trim_matches('"'))
        .filter(|b| !b.is_empty())
        .ok_or_else(|| bad("Content-Type must be multipart/form-data with a boundary"))?;
    let delimiter = format!("--{boundary}");
    let mut meta = None;
    let mut file = None;
    let mut rest = body;
    // Each part: delimiter CRLF headers CRLF CRLF content CRLF; the last delimiter ends in `--`.
    loop {
        let at = find(rest, delimiter.as_bytes()).ok_or_else(|| bad("no closing boundary"))?;
        rest = &rest[at + delimiter.len()..];
        if rest.starts_with(b"--") {
            break;
        }
        rest = rest
            .strip_prefix(b"\r\n")
            .ok_or_else(|| bad("a boundary is not followed by CRLF"))?;
        let headers_end = find(rest, b"\r\n\r\n").ok_or_else(|| bad("a part has no header end"))?;
        let headers = std::str::from_utf8(&rest[..headers_end])
            .map_err(|_| bad("part headers are not UTF-8"))?;
        let content_start = headers_end + 4;
        let next = find(
            &rest[content_start..],
            format!("\r\n{delimiter}").as_bytes(),
        )
        .ok_or_else(|| bad("a part is not closed by a boundary"))?;
        let content = &rest[content_start..content_start + next];
        let name = headers
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("content-disposition:"))
            .and_then(|l| l.split(';').find_map(|p| p.trim().strip_prefix("name=")))
            .map(|n| n.trim_matches('"'));
        match name {
            Some("meta") if meta.is_none() => meta = Some(content),
            Some("file") if file.is_none() => file = Some(content),
            Some(other @ ("meta" | "file")) => {
                return Err(bad(&format!("part {other} appears twice")))
            }
            Some(other) => {
                return Err(bad(&format!("unknown part {other:?} (meta and file only)")))
            }
            None => return Err(bad("a part has no Content-Disposition name")),
        }
        rest = &rest[content_start + next + 2..];
    }
    let file = file.ok_or_else(|| bad("the file part is missing"))?;
    if file.is_empty() || file.len() > MAX_FILE_BYTES {
        return Err(Rejection::param_error(format!(
            "file: must be 1 to {MAX_FILE_BYTES} bytes, got {}",
            file.len()
        )));
    }
    let meta = meta.ok_or_else(|| bad("the meta part is missing"))?;
    // WeChat Pay checks the file against the meta's digest.
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, file);
    let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    let stated = serde_json::from_slice::<serde_json::Value>(meta)
        .ok()
        .and_then(|m| {
            m.get("sha256")
                .and_then(|v| v.as_str())
                .map(str::to_ascii_lowercase)
        });
    if stated.is_some_and(|s| s != hex) {
        return Err(
            Rejection::param_error("sha256: is not the SHA-256 of the file part")
                .with_detail(serde_json::json!({"field": "sha256", "location": "body"})),
        );
    }
    Ok(meta)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CT: &str = "multipart/form-data; boundary=XyZ";

    fn body(parts: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, content) in parts {
            out.extend_from_slice(
                format!("--XyZ\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n")
                    .as_bytes(),
            );
            out.extend_from_slice(content);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"--XyZ--\r\n");
        out
    }

    #[test]
    fn finds_the_meta_part_in_either_order() {
        let b = body(&[
            ("meta", br#"{"filename":"a.png"}"#),
            ("file", b"\x89PNG\r\n--"),
        ]);
        assert_eq!(meta_part(Some(CT), &b).unwrap(), br#"{"filename":"a.png"}"#);
        let b = body(&[("file", b"bytes"), ("meta", b"{}")]);
        assert_eq!(meta_part(Some(CT), &b).unwrap(), b"{}");
    }

    #[test]
    fn the_digest_must_be_the_files() {
        let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        let good = body(&[
            ("meta", format!(r#"{{"sha256":"{abc}"}}"#).as_bytes()),
            ("file", b"abc"),
        ]);
        assert!(meta_part(Some(CT), &good).is_ok());
        let stale = body(&[("meta", br#"{"sha256":"00"}"#), ("file", b"abc")]);
        assert_eq!(meta_part(Some(CT), &stale).unwrap_err().code, "PARAM_ERROR");
    }

    #[test]
    fn refuses_what_is_not_an_upload() {
        let ok = body(&[("meta", b"{}"), ("file", b"x")]);
        assert!(meta_part(Some("application/json"), &ok).is_err());
        assert!(meta_part(None, &ok).is_err());
        assert!(meta_part(Some(CT), &body(&[("meta", b"{}")]))
            .unwrap_err()
            .message
            .contains("file part"));
        assert!(meta_part(Some(CT), &body(&[("file", b"x")]))
            .unwrap_err()
            .message
            .contains("meta part"));
        assert!(meta_part(
            Some(CT),
            &body(&[("meta", b"{}"), ("meta", b"{}"), ("file", b"x")])
        )
        .is_err());
        assert!(meta_part(Some(CT), &body(&[("meta", b"{}"), ("other", b"x")])).is_err());
        assert!(meta_part(Some(CT), b"--XyZ\r\nno end").is_err());
        let empty = body(&[("meta", b"{}"), ("file", b"")]);
        assert_eq!(meta_part(Some(CT), &empty).unwrap_err().code, "PARAM_ERROR");
    }
}
