//! A brand's notify URL on 127.0.0.1, for the demo: receives the sandbox's
//! notifications, verifies and decrypts each with `NotificationHandler` (the
//! WeChat Pay public key and APIv3 key from the sandbox's keys directory),
//! answers 204, and prints one line per notification:
//! `EVENT_TYPE coupon_code=… openid=… stock_id=…`.
//!
//! Usage: `notify_receiver KEYS_DIR COUNT TIMEOUT_SECS` — prints its URL on the
//! first line, exits 0 after COUNT notifications, 1 if they do not all come
//! within TIMEOUT_SECS. A delivery that does not verify is answered 401 and
//! reported on standard error (WeChat Pay then retries).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use wechatpay_models::ProductCouponNotification;
use wechatpay_sandbox::keys::{Identity, IDENTITY_FILE, WXP_PUB_FILE};
use wechatpay_transport::keystore::PublicKeyStore;
use wechatpay_transport::notification::{ApiV3Key, NotificationHandler};
use wechatpay_transport::SignatureHeaders;

type Fallible<T> = Result<T, Box<dyn std::error::Error>>;

/// Header names (lower case) and values, then the body.
type Received = (Vec<(String, String)>, Vec<u8>);

/// Reads one HTTP/1.1 request: its headers (lower-case names) and body.
fn read_request(stream: &TcpStream) -> Fallible<Received> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line)?; // request line
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            break;
        }
        if let Some((name, value)) = trimmed.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length.min(1 << 20)];
    reader.read_exact(&mut body)?;
    Ok((headers, body))
}

fn main() -> Fallible<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, keys, count, timeout] = args.as_slice() else {
        return Err("usage: notify_receiver KEYS_DIR COUNT TIMEOUT_SECS".into());
    };
    let keys = PathBuf::from(keys);
    let count: usize = count.parse()?;
    let deadline = Instant::now() + Duration::from_secs(timeout.parse()?);
    let identity: Identity = serde_json::from_slice(&std::fs::read(keys.join(IDENTITY_FILE))?)?;
    let mut trusted = PublicKeyStore::new();
    trusted.add_public_key_pem(
        identity.public_key_id.clone(),
        std::fs::read(keys.join(WXP_PUB_FILE))?,
    )?;
    let handler = NotificationHandler::new(trusted, ApiV3Key::new(&identity.apiv3_key)?);

    let listener = TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    println!("http://{}/notify", listener.local_addr()?);
    std::io::stdout().flush()?;
    let mut received = 0;
    while received < count {
        if Instant::now() > deadline {
            eprintln!("notify_receiver: {received} of {count} notifications before the timeout");
            std::process::exit(1);
        }
        let mut stream = match listener.accept() {
            Ok((stream, _)) => stream,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(20));
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        stream.set_nonblocking(false)?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        let (headers, body) = read_request(&stream)?;
        let lookup = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        };
        let verdict = SignatureHeaders::from_lookup(lookup)
            .map_err(|e| e.to_string())
            .and_then(|h| {
                handler
                    .verify_and_decrypt::<ProductCouponNotification>(&h, &body)
                    .map_err(|e| e.to_string())
            });
        let status = match verdict {
            Ok(n) => {
                let r = &n.resource;
                println!(
                    "{} coupon_code={} openid={} stock_id={}",
                    n.notification.event_type,
                    r.coupon_code.as_deref().unwrap_or(""),
                    r.openid.as_deref().unwrap_or(""),
                    r.stock_id.as_deref().unwrap_or("")
                );
                std::io::stdout().flush()?;
                received += 1;
                "204 No Content"
            }
            Err(e) => {
                eprintln!("notify_receiver: refused a delivery: {e}");
                "401 Unauthorized"
            }
        };
        write!(
            stream,
            "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )?;
    }
    Ok(())
}
