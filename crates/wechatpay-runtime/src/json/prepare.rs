//! A body written with its parameters, decoded into an operation's typed request and
//! validated, then rendered as the request to sign and send.

use serde_json::Value;

use super::shape::{check_shape, BodyMode};
use super::{Problem, WHOLE_BODY};
use crate::meta::{Endpoint, EndpointInfo};
use crate::validation::Validate;

/// Checks a body written with its path and query parameters, then deserializes it
/// into the operation's typed request and validates it: every problem, each with its path.
pub fn decode_request<E: Endpoint>(body: &Value) -> Result<E::Request, Vec<Problem>>
where
    E::Request: serde::de::DeserializeOwned,
{
    let problems = check_shape(E::INFO.request, body, BodyMode::WithParams);
    if !problems.is_empty() {
        return Err(problems);
    }
    let request: E::Request = serde_path_to_error::deserialize(body).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." {
            WHOLE_BODY.to_owned()
        } else {
            path
        };
        vec![Problem::new(path, e.into_inner().to_string())]
    })?;
    request.validate().map_err(|violations| {
        violations
            .as_slice()
            .iter()
            .map(Problem::from)
            .collect::<Vec<_>>()
    })?;
    Ok(request)
}

/// A request ready to sign and send: where it goes and the exact wire body.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The schema facts of the operation the request is for.
    pub info: &'static EndpointInfo,
    /// The path with path parameters filled in and percent-encoded.
    pub path: String,
    /// The query string without `?`, if any.
    pub query: Option<String>,
    /// The wire body: the typed request serialized (parameters left out); empty
    /// for operations without a body.
    pub body: Vec<u8>,
}

impl Prepared {
    /// Path plus `?query`, as signed.
    pub fn url(&self) -> String {
        match &self.query {
            Some(q) => format!("{}?{q}", self.path),
            None => self.path.clone(),
        }
    }
}

/// [`decode_request`]s a body written with its parameters and renders the request as it is sent.
pub fn prepare<E: Endpoint>(body: &Value) -> Result<Prepared, Vec<Problem>>
where
    E::Request: serde::de::DeserializeOwned,
{
    let request = decode_request::<E>(body)?;
    let wire = match E::INFO.body {
        crate::BodyKind::None => Vec::new(),
        crate::BodyKind::Json | crate::BodyKind::Multipart => serde_json::to_vec(&request)
            .map_err(|e| vec![Problem::new(WHOLE_BODY, e.to_string())])?,
    };
    Ok(Prepared {
        info: E::INFO,
        path: E::path(&request),
        query: E::query(&request),
        body: wire,
    })
}

/// Decodes a reply body into `T` (nothing may follow the JSON value) and gives it back
/// serialized: exactly what the type holds (fields it does not know are left out;
/// strings are JSON-escaped, so no control character reaches a terminal). A problem
/// names the field that did not decode. An empty body reads as `null`, as the
/// transport's typed calls read it: a type that needs fields refuses it by name.
pub fn decode_reply<T: serde::de::DeserializeOwned + serde::Serialize>(
    body: &[u8],
) -> Result<Value, Problem> {
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"null"
    } else {
        body
    };
    let problem = |path: String, e: serde_json::Error| {
        let path = if path == "." {
            WHOLE_BODY.to_owned()
        } else {
            path
        };
        Problem::new(path, e.to_string())
    };
    let mut de = serde_json::Deserializer::from_slice(body);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        problem(path, e.into_inner())
    })?;
    de.end().map_err(|e| problem(WHOLE_BODY.into(), e))?;
    serde_json::to_value(&value).map_err(|e| Problem::new(WHOLE_BODY, e.to_string()))
}
