//! The HTTP/1.1 server (hyper): connections with read deadlines, the
//! `/sandbox/…` endpoints, and signing every reply.
//!
//! A connection must deliver each request's head within `read_timeout` of
//! waiting for it (so an idle keep-alive connection or a half-sent head is
//! closed after that long), and its body within `read_timeout` of the head.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::Request;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};

use crate::pipeline::{process, Outcome};
use crate::replies::Rejection;
use crate::state::{Reply, SandboxState};

/// Bodies larger than this are refused: WeChat Pay's requests are small, except an upload,
/// whose file plus meta part and framing fit.
const MAX_BODY: usize = wechatpay_runtime::meta::MAX_UPLOAD_FILE_BYTES + (64 << 10);

/// Returned by the service to make hyper close the connection without a reply.
#[derive(Debug)]
struct DropConnection;

impl fmt::Display for DropConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("drop-after-receive fault: connection closed without a reply")
    }
}

impl std::error::Error for DropConnection {}

/// Accepts connections until the future is dropped.
pub async fn serve(listener: tokio::net::TcpListener, state: Arc<SandboxState>) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                eprintln!("sandbox: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let state = state.clone();
        tokio::spawn(async move {
            let timeout = state.read_timeout;
            let service = service_fn(move |req| handle(state.clone(), req));
            // A dropped connection (client gone, deadline, or the drop fault) is routine here.
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(timeout)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn handle(state: Arc<SandboxState>, req: Request<Incoming>) -> Result<Reply, DropConnection> {
    let (parts, body) = req.into_parts();
    let url = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path().to_owned(), |pq| pq.as_str().to_owned());
    let collected =
        tokio::time::timeout(state.read_timeout, Limited::new(body, MAX_BODY).collect());
    let body = match collected.await {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(_)) => {
            let r = Rejection::new(413, "INVALID_REQUEST", "body too large or unreadable");
            return Ok(closing(state.reply_error(&r, false)));
        }
        Err(_) => {
            let r = Rejection::new(
                400,
                "INVALID_REQUEST",
                format!(
                    "the request body did not arrive within {} s",
                    state.read_timeout.as_secs_f32()
                ),
            );
            return Ok(closing(state.reply_error(&r, false)));
        }
    };
    if parts.uri.path().starts_with("/sandbox/") {
        return Ok(crate::admin::answer(
            &state,
            &parts.method,
            parts.uri.path(),
            &body,
        ));
    }
    state.stats().requests += 1;
    match process(&state, &parts, &url, &body).await {
        Outcome::Reply {
            reply,
            operation,
            note,
        } => {
            let status = reply.status().as_u16();
            state.log(&parts.method, &url, &format!("{status} {note}"), operation);
            Ok(reply)
        }
        Outcome::Drop { operation } => {
            state.log(
                &parts.method,
                &url,
                "dropped (drop-after-receive)",
                operation,
            );
            Err(DropConnection)
        }
    }
}

/// Asks hyper to close the connection after this reply.
fn closing(mut reply: Reply) -> Reply {
    reply.headers_mut().insert(
        http::header::CONNECTION,
        http::HeaderValue::from_static("close"),
    );
    reply
}
