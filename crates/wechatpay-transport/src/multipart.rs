//! The file part of a `multipart/form-data` request (upload-image).
//!
//! [`FilePart`] and its `meta` checks are pure and live in
//! [`wechatpay_protocol::multipart`], re-exported here; this module builds
//! reqwest's form from them.

pub use wechatpay_protocol::multipart::*;

/// Builds the reqwest form of a [`FilePart`] (a trait because `FilePart` lives
/// in wechatpay-protocol, which knows no HTTP client).
pub(crate) trait MultipartForm {
    /// The multipart form: `meta` (the signed JSON) then `file`, as the Java sample sends them.
    fn form(&self, meta: &[u8]) -> Result<reqwest::multipart::Form, reqwest::Error>;
}

impl MultipartForm for FilePart {
    fn form(&self, meta: &[u8]) -> Result<reqwest::multipart::Form, reqwest::Error> {
        let meta = reqwest::multipart::Part::bytes(meta.to_vec()).mime_str("application/json")?;
        let file = reqwest::multipart::Part::bytes(self.bytes.clone())
            .file_name(self.filename.clone())
            .mime_str(self.content_type)?;
        Ok(reqwest::multipart::Form::new()
            .part("meta", meta)
            .part("file", file))
    }
}
