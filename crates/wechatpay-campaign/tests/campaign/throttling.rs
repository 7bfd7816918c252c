//! 429 FREQUENCY_LIMITED: the campaign backs off, slows down and recovers.
//!
//! A small proxy on 127.0.0.1 sits between the client and the in-process
//! sandbox and adds `X-Sandbox-Fault: status=429` to a run of consecutive
//! requests, so the sandbox answers those with a signed 429 (headers are not
//! part of the request signature). When the sandbox's own rate limit lands
//! (`--rate-limit`), the benchmark measures against it directly.

use crate::common;

use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{bounded, client, sandbox, spec, stats, users, USER_TEMPLATE};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use wechatpay_campaign::{Campaign, Control, RunEnd, RunOptions};

/// Starts the proxy on 127.0.0.1:0; requests numbered `throttled` (0-based) get the fault.
async fn proxy(upstream: String, throttled: Range<u64>) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let counter = Arc::new(AtomicU64::new(0));
    let http = reqwest::Client::new();
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let (upstream, counter, http, throttled) = (
                upstream.clone(),
                counter.clone(),
                http.clone(),
                throttled.clone(),
            );
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                    let (upstream, counter, http, throttled) = (
                        upstream.clone(),
                        counter.clone(),
                        http.clone(),
                        throttled.clone(),
                    );
                    async move {
                        let n = counter.fetch_add(1, Ordering::SeqCst);
                        let (parts, body) = req.into_parts();
                        let body = body.collect().await?.to_bytes();
                        let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
                        let mut forward = http.request(parts.method, format!("{upstream}{path}"));
                        for (name, value) in &parts.headers {
                            if name != hyper::header::HOST {
                                forward = forward.header(name, value);
                            }
                        }
                        if throttled.contains(&n) {
                            forward = forward.header("X-Sandbox-Fault", "status=429");
                        }
                        let reply = forward
                            .body(body)
                            .send()
                            .await
                            .expect("the sandbox answers");
                        let mut out = Response::builder().status(reply.status());
                        for (name, value) in reply.headers() {
                            out = out.header(name, value);
                        }
                        let bytes = reply.bytes().await.expect("the reply body");
                        Ok::<_, hyper::Error>(out.body(Full::new(bytes)).unwrap())
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (url, task)
}

#[test]
fn answers_429_slow_the_campaign_down_and_it_recovers() {
    let sandbox = sandbox(None);
    let dir = tempfile::tempdir().unwrap();
    let spec = spec(
        dir.path(),
        "send-user-product-coupon",
        &users("oThrottled", 400),
        USER_TEMPLATE,
    );
    // The send lane alone (its confirms have their own pacer, tested with the
    // follow-ups): the 429s land on sends, and the run is as short as before.
    let options = RunOptions {
        rate: Some(200.0),
        follow_up: false,
        ..RunOptions::default()
    };
    let samples = Arc::new(Mutex::new(Vec::<f64>::new()));
    let summary = bounded(60, async {
        let (url, proxy_task) = proxy(sandbox.base_url().to_owned(), 40..70).await;
        let brand = client(&sandbox, &url, true);
        let control = Control::new();
        let watcher = control.clone();
        let sink = samples.clone();
        let sampler = tokio::spawn(async move {
            loop {
                sink.lock().unwrap().push(watcher.progress().rate);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        });
        let summary = Campaign::open(&spec)
            .unwrap()
            .run(&brand, &options, &control)
            .await;
        sampler.abort();
        proxy_task.abort();
        summary
    })
    .unwrap();
    assert_eq!(summary.end, RunEnd::Completed);
    assert_eq!(summary.counts.sent(), 400, "{summary:?}");
    assert_eq!(summary.progress.throttled, 30, "every 429 seen");
    assert_eq!(
        summary.progress.requests, 430,
        "each throttled row resent once"
    );
    assert_eq!(
        stats(&sandbox, "send-user-product-coupon").1,
        400,
        "one coupon per row"
    );

    let samples = samples.lock().unwrap();
    let (lowest_at, lowest) = samples
        .iter()
        .copied()
        .enumerate()
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap();
    assert!(lowest < 200.0 * 0.95, "slowed down: {lowest}");
    let last = *samples.last().unwrap();
    assert!(
        last > lowest + 10.0,
        "recovering after the 429s stopped: lowest {lowest} (sample {lowest_at}), last {last}"
    );
    // The ceiling (98 % of the rate that drew the 429s) climbs back slowly
    // with time, so a slow run may end a little above 98 %; never at 100 %.
    assert!(
        last < 200.0 * 0.995,
        "recovers to just under the rate that drew the 429s: {last}"
    );
}
