//! A small HTTP/1.1 server for the [`NotifyService`] (feature `server`, on by default):
//! what `wechatpay notify serve` runs. Requests for the notify URL's path go to the
//! service; any other path is answered 404. Stopping is graceful: no new connections,
//! requests being handled are finished (journaled and answered).

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tower::Service as _;

use crate::receiver::Outcome;
use crate::service::NotifyService;

/// How long a client may take to send a request's head (and stay idle between requests).
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a stop waits for the requests being handled.
pub const GRACE: Duration = Duration::from_secs(10);

type Observer = Arc<dyn Fn(SocketAddr, &Outcome) + Send + Sync>;

/// The notify URL on a listening socket.
///
/// ```no_run
/// # async fn demo(receiver: wechatpay_notify::Receiver) -> std::io::Result<()> {
/// use wechatpay_notify::server::Server;
///
/// let server = Server::bind("127.0.0.1:0", "/notify", receiver.service()).await?;
/// println!("{}", server.url()); // http://127.0.0.1:PORT/notify
/// server.serve(async { let _ = tokio::signal::ctrl_c().await; }).await?;
/// # Ok(()) }
/// ```
pub struct Server {
    listener: TcpListener,
    local: SocketAddr,
    path: String,
    service: NotifyService,
    observer: Option<Observer>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("local", &self.local)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Listens on `addr` (port 0: a free port) and serves `service` at `path`.
    pub async fn bind(addr: &str, path: &str, service: NotifyService) -> std::io::Result<Server> {
        Server::from_listener(TcpListener::bind(addr).await?, path, service)
    }

    /// Serves `service` at `path` on a listener bound by the caller.
    pub fn from_listener(
        listener: TcpListener,
        path: &str,
        service: NotifyService,
    ) -> std::io::Result<Server> {
        let local = listener.local_addr()?;
        let path = if path.starts_with('/') {
            path.to_owned()
        } else {
            format!("/{path}")
        };
        Ok(Server {
            listener,
            local,
            path,
            service,
            observer: None,
        })
    }

    /// Calls `observer` with the peer and the outcome of every delivery (for logging).
    pub fn observe(
        mut self,
        observer: impl Fn(SocketAddr, &Outcome) + Send + Sync + 'static,
    ) -> Self {
        self.observer = Some(Arc::new(observer));
        self
    }

    /// The address listened on (the real port when bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The notify URL: `http://ADDR:PORT/PATH`.
    pub fn url(&self) -> String {
        format!("http://{}{}", self.local, self.path)
    }

    /// Serves until `stop` completes, then finishes the requests being handled
    /// (for at most [`GRACE`]).
    pub async fn serve(self, stop: impl Future<Output = ()>) -> std::io::Result<()> {
        tokio::pin!(stop);
        let graceful = GracefulShutdown::new();
        let path: Arc<str> = Arc::from(self.path.as_str());
        loop {
            let (stream, peer) = tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok(pair) => pair,
                    Err(e) => {
                        // Out of descriptors and the like: wait a little rather than spin.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                () = &mut stop => break,
            };
            let (service, path, observer) =
                (self.service.clone(), path.clone(), self.observer.clone());
            let handler = hyper::service::service_fn(move |request: Request<Incoming>| {
                let (mut service, path, observer) =
                    (service.clone(), path.clone(), observer.clone());
                async move {
                    if request.uri().path() != &*path {
                        let mut not_found = Response::new(Full::new(Bytes::new()));
                        *not_found.status_mut() = StatusCode::NOT_FOUND;
                        return Ok::<_, Infallible>(not_found);
                    }
                    let response = service.call(request).await?;
                    if let (Some(observe), Some(outcome)) =
                        (observer, response.extensions().get::<Outcome>())
                    {
                        observe(peer, outcome);
                    }
                    Ok(response)
                }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(TokioIo::new(stream), handler);
            let connection = graceful.watch(connection);
            tokio::spawn(async move {
                let _ = connection.await;
            });
        }
        drop(self.listener);
        let _ = tokio::time::timeout(GRACE, graceful.shutdown()).await;
        Ok(())
    }
}
