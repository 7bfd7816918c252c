//! An operation chosen by id at run time: the tools that take an operation id
//! (the CLI's `call`, the campaign, the sandbox) reach the operation's typed
//! request and response through one [`Operation`] each, from [`dispatch`].
//!
//! The generated [`OPERATIONS`](crate::OPERATIONS) table holds one
//! [`Operation::of`] per endpoint type: plain function pointers, so the typed
//! code is compiled once, here, rather than in every tool.

use std::any::Any;
use std::fmt;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use wechatpay_runtime::json::{self, Prepared, Problem};
use wechatpay_runtime::{Endpoint, EndpointInfo};

/// A request decoded into its operation's typed request (`<E as Endpoint>::Request`):
/// [`downcast`](Box::downcast) it with the endpoint type the operation id names.
pub type AnyRequest = Box<dyn Any + Send>;

/// What can be done with one operation known by its id at run time.
#[derive(Clone, Copy)]
pub struct Operation {
    /// The operation's schema facts.
    pub info: &'static EndpointInfo,
    prepare: fn(&Value) -> Result<Prepared, Vec<Problem>>,
    decode_request: fn(&Value) -> Result<AnyRequest, Vec<Problem>>,
    decode_reply: fn(&[u8]) -> Result<Value, Problem>,
}

impl Operation {
    /// The entry points of endpoint type `E`.
    pub const fn of<E: Endpoint>() -> Self
    where
        E::Request: DeserializeOwned,
        E::Response: Serialize,
    {
        Operation {
            info: E::INFO,
            prepare: json::prepare::<E>,
            decode_request: decode_any::<E>,
            decode_reply: json::decode_reply::<E::Response>,
        }
    }

    /// Checks a JSON body written with its path and query parameters (shape, typed
    /// decoding, `validate()`) and renders the request as it is sent: path, query and
    /// the exact wire body. Every problem names its field.
    pub fn prepare(&self, body: &Value) -> Result<Prepared, Vec<Problem>> {
        (self.prepare)(body)
    }

    /// The same checks as [`prepare`](Self::prepare), giving the typed request itself
    /// (for a server: the sandbox hands it to the operation's handler).
    pub fn decode_request(&self, body: &Value) -> Result<AnyRequest, Vec<Problem>> {
        (self.decode_request)(body)
    }

    /// Decodes a reply body into the operation's response type and gives back the JSON
    /// of what decoded (see [`json::decode_reply`]).
    pub fn decode_reply(&self, body: &[u8]) -> Result<Value, Problem> {
        (self.decode_reply)(body)
    }
}

impl fmt::Debug for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Operation")
            .field("operation_id", &self.info.operation_id)
            .finish_non_exhaustive()
    }
}

fn decode_any<E: Endpoint>(body: &Value) -> Result<AnyRequest, Vec<Problem>>
where
    E::Request: DeserializeOwned,
{
    json::decode_request::<E>(body).map(|request| Box::new(request) as AnyRequest)
}

/// The operation with id `operation_id`; `None` for an id the schema does not have.
pub fn dispatch(operation_id: &str) -> Option<&'static Operation> {
    crate::OPERATIONS
        .iter()
        .find(|op| op.info.operation_id == operation_id)
}

/// The operation `info` describes (an `EndpointInfo` of this crate, e.g. from
/// [`find`](crate::find)); for one made elsewhere, a problem naming its id.
pub fn operation_for(info: &EndpointInfo) -> Result<&'static Operation, Problem> {
    dispatch(info.operation_id).ok_or_else(|| {
        Problem::new(
            json::WHOLE_BODY,
            format!("no generated operation {}", info.operation_id),
        )
    })
}
