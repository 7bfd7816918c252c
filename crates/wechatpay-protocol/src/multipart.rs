//! The file part of a `multipart/form-data` request (upload-image): the JSON
//! `meta` part is the request's serialized body and is what gets signed; the
//! file travels beside it, unsigned, as the page and the official samples do.

use std::fmt;
use std::path::Path;

/// The largest file the image upload accepts (2 MB, per the page).
pub use wechatpay_runtime::meta::MAX_UPLOAD_FILE_BYTES as MAX_FILE_BYTES;

/// The meta fields a file determines, and how: `filename` is the file's name,
/// `sha256` the hex digest of its bytes (the upload-image page's `meta`).
const FILE_FACTS: [&str; 2] = ["filename", "sha256"];

/// A file to send as the `file` part.
#[derive(Clone, PartialEq, Eq)]
pub struct FilePart {
    /// The name sent in the part's `Content-Disposition` (and usually in `meta.filename`).
    pub filename: String,
    /// The part's `Content-Type`, from the file name's extension.
    pub content_type: &'static str,
    /// The file's bytes.
    pub bytes: Vec<u8>,
}

impl fmt::Debug for FilePart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FilePart")
            .field("filename", &self.filename)
            .field("content_type", &self.content_type)
            .field("len", &self.bytes.len())
            .finish()
    }
}

impl FilePart {
    /// A part from bytes; the content type follows the name's extension.
    pub fn new(filename: impl Into<String>, bytes: Vec<u8>) -> Self {
        let filename = filename.into();
        FilePart {
            content_type: content_type(&filename),
            filename,
            bytes,
        }
    }

    /// Reads a file (at most [`MAX_FILE_BYTES`]); the part's name is the file's name.
    pub fn read(path: &Path) -> Result<Self, String> {
        use std::io::Read as _;
        let shown = path.display();
        let file = std::fs::File::open(path).map_err(|e| format!("{shown}: {e}"))?;
        let mut bytes = Vec::new();
        file.take(MAX_FILE_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("{shown}: {e}"))?;
        if bytes.len() > MAX_FILE_BYTES {
            return Err(format!(
                "{shown}: larger than {MAX_FILE_BYTES} bytes, the upload limit"
            ));
        }
        if bytes.is_empty() {
            return Err(format!("{shown}: is empty"));
        }
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| format!("{shown}: the file name is not UTF-8"))?;
        Ok(FilePart::new(name, bytes))
    }

    /// The SHA-256 of the bytes as lower-case hex (`meta.sha256`).
    pub fn sha256_hex(&self) -> String {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &self.bytes);
        digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The value the file gives a meta field named `field`, if it determines one.
    fn fact(&self, field: &str) -> Option<String> {
        match field {
            "filename" => Some(self.filename.clone()),
            "sha256" => Some(self.sha256_hex()),
            _ => None,
        }
    }

    /// Sets the meta fields this file determines where `meta` (a JSON object) leaves them out.
    pub fn fill_meta(&self, meta: &mut serde_json::Value) {
        let Some(map) = meta.as_object_mut() else {
            return;
        };
        for field in FILE_FACTS {
            if !map.contains_key(field) {
                if let Some(value) = self.fact(field) {
                    map.insert(field.to_owned(), serde_json::Value::String(value));
                }
            }
        }
    }

    /// Checks that a serialized meta part states this file's facts (a stale `sha256`
    /// would be refused by WeChat Pay after the upload).
    pub fn check_meta(&self, meta: &[u8]) -> Result<(), &'static str> {
        let meta: serde_json::Value =
            serde_json::from_slice(meta).map_err(|_| "the meta part is not JSON")?;
        for field in FILE_FACTS {
            if let Some(given) = meta.get(field) {
                if given.as_str() != self.fact(field).as_deref() {
                    return Err(match field {
                        "sha256" => "meta sha256 is not the SHA-256 of the file",
                        _ => "meta filename is not the file's name",
                    });
                }
            }
        }
        Ok(())
    }
}

/// The image types the upload takes, by extension; anything else is sent as bytes.
fn content_type(filename: &str) -> &'static str {
    let extension = filename
        .rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase())
        .unwrap_or_default();
    match extension.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "bmp" => "image/bmp",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_follow_the_extension_and_the_digest_is_hex() {
        assert_eq!(FilePart::new("A.PNG", vec![1]).content_type, "image/png");
        assert_eq!(FilePart::new("a.jpeg", vec![1]).content_type, "image/jpeg");
        assert_eq!(
            FilePart::new("a", vec![1]).content_type,
            "application/octet-stream"
        );
        // sha256("abc"), the FIPS 180-2 test vector.
        assert_eq!(
            FilePart::new("a.png", b"abc".to_vec()).sha256_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn files_are_read_with_a_cap() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.png");
        std::fs::write(&big, vec![0u8; MAX_FILE_BYTES + 1]).unwrap();
        assert!(FilePart::read(&big).unwrap_err().contains("larger than"));
        let empty = dir.path().join("e.png");
        std::fs::write(&empty, b"").unwrap();
        assert!(FilePart::read(&empty).unwrap_err().contains("is empty"));
        let ok = dir.path().join("logo.png");
        std::fs::write(&ok, b"\x89PNG").unwrap();
        let part = FilePart::read(&ok).unwrap();
        assert_eq!(
            (part.filename.as_str(), part.content_type),
            ("logo.png", "image/png")
        );
    }
}
