//! Many tenants in one process (`ClientBuilder::share`): clients of other brands on
//! one connection pool and one failover state, each with its own identity, keys and
//! settings. Observed from outside: the server counts TCP connections, checks each
//! request's signature with OpenSSL, and the timing of replies shows whose timeout
//! applies. (Shared downloaded certificates: `platform_certificates.rs`.)

use std::time::Duration;

use crate::support::*;
use wechatpay_transport::{
    AuthScheme, CallOptions, Client, ClientBuilder, ConfigError, ErrorKind, Identity,
    NetworkErrorKind, RetryPolicy,
};

const OK_BODY: &str = r#"{"coupon_code":"C-1"}"#;
const TENANTS: usize = 8;

fn brand_id(i: usize) -> String {
    format!("{BRAND_ID}{i}")
}

/// Brand `i`, on its own settings; `share` makes it use `first`'s pool.
fn tenant(url: &str, i: usize) -> ClientBuilder {
    Client::builder(Identity::brand(brand_id(i)))
        .serial_no(SERIAL_NO)
        .private_key_pem(fixture_text("merchant_key.pem"))
        .wechatpay_public_key_pem(PUB_KEY_ID, fixture_text("wechatpay_pub.pem"))
        .base_url(url)
        .retry(RetryPolicy::none())
}

/// Answers a brand request whose signature OpenSSL verifies for the brand it names.
async fn brand_server() -> TestServer {
    TestServer::start(|req, _| {
        let brand = req.auth().get("brand_id").to_owned();
        match check_request(req, AuthScheme::Brand, &brand) {
            Ok(()) => ok_reply(OK_BODY),
            Err(why) => Reply::new(401, format!(r#"{{"code":"SIGN_ERROR","message":"{why}"}}"#)),
        }
    })
    .await
}

async fn send(client: &Client) {
    let reply = client
        .execute::<_, DemoBrandSend>(&DemoRequest::new("o1"))
        .await
        .unwrap();
    assert_eq!(reply.coupon_code, "C-1");
}

#[tokio::test]
async fn tenants_that_share_send_over_one_pool_each_as_itself() {
    let server = brand_server().await;
    let first = tenant(&server.url(), 0).build().unwrap();
    let mut clients = vec![first.clone()];
    for i in 1..TENANTS {
        clients.push(tenant(&server.url(), i).share(&first).build().unwrap());
    }
    for client in &clients {
        send(client).await;
    }
    assert_eq!(server.count(), TENANTS);
    assert_eq!(
        server.connections(),
        1,
        "one keep-alive connection carried every tenant's request"
    );
    let signed_as: Vec<String> = server
        .requests()
        .iter()
        .map(|r| r.auth().get("brand_id").to_owned())
        .collect();
    assert_eq!(signed_as, (0..TENANTS).map(brand_id).collect::<Vec<_>>());
    assert!(format!("{:?}", clients[1].config()).contains("shared with another client"));

    // The same tenants without `share`: a pool each.
    let server = brand_server().await;
    for i in 0..TENANTS {
        send(&tenant(&server.url(), i).build().unwrap()).await;
    }
    assert_eq!(server.connections(), TENANTS);
}

#[tokio::test]
async fn a_sharing_client_keeps_its_own_request_timeout() {
    let server = TestServer::start(|_, _| {
        let mut reply = ok_reply(OK_BODY);
        reply.delay = Duration::from_millis(400);
        reply
    })
    .await;
    let first = tenant(&server.url(), 0).build().unwrap();
    let hasty = tenant(&server.url(), 1)
        .request_timeout(Duration::from_millis(100))
        .share(&first)
        .build()
        .unwrap();
    let err = hasty
        .execute::<_, DemoBrandSend>(&DemoRequest::new("o1"))
        .await
        .unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Network(n) if n.kind == NetworkErrorKind::Timeout),
        "{err:?}"
    );
    // The shared pool's own client waits (30 s by default), and a call's own timeout wins.
    send(&first).await;
    let reply = hasty
        .execute_with::<_, DemoBrandSend>(
            &DemoRequest::new("o1"),
            CallOptions::new().timeout(Duration::from_secs(5)),
        )
        .await
        .unwrap();
    assert_eq!(reply.coupon_code, "C-1");
}

#[tokio::test]
async fn tenants_on_the_same_hosts_share_the_failover_state() {
    let backup = brand_server().await;
    let main = format!("http://127.0.0.1:{}", closed_port().await);
    let on_hosts = |i| {
        tenant(&main, i)
            .backup_url(Some(backup.url()))
            .retry(fast_retries(1))
    };
    let first = on_hosts(0).build().unwrap();
    let second = on_hosts(1).share(&first).build().unwrap();
    let attempts = |client: Client| async move {
        client
            .execute_with::<_, DemoBrandSend>(&DemoRequest::new("o1"), CallOptions::new())
            .await
            .unwrap()
            .attempts()
    };
    assert_eq!(
        attempts(first.clone()).await,
        2,
        "main refused, then backup"
    );
    assert_eq!(
        attempts(second).await,
        1,
        "the other tenant goes to the backup at once"
    );
    // Other hosts: a failover state of its own.
    let elsewhere = tenant(&backup.url(), 2).share(&first).build().unwrap();
    assert!(format!("{:?}", elsewhere.config()).contains("failover state: own"));
    send(&elsewhere).await;
}

#[test]
fn the_pools_settings_belong_to_the_client_shared() {
    let first = tenant("http://127.0.0.1:9", 0).build().unwrap();
    let refused = |builder: ClientBuilder, what: &str| {
        let err = builder.share(&first).build().unwrap_err();
        assert!(
            matches!(&err, ConfigError::InvalidValue { what: w, .. } if *w == what),
            "{what}: {err:?}"
        );
        assert!(err.to_string().contains("set it on that client"), "{err}");
    };
    refused(
        tenant("http://127.0.0.1:9", 1).proxy("http://127.0.0.1:3128"),
        "proxy",
    );
    refused(
        tenant("http://127.0.0.1:9", 1).connect_timeout(Duration::from_secs(1)),
        "connect_timeout",
    );
    refused(
        tenant("http://127.0.0.1:9", 1).pool_idle_timeout(Duration::from_secs(1)),
        "pool_idle_timeout",
    );
    refused(
        tenant("http://127.0.0.1:9", 1).http_client(reqwest::Client::new()),
        "http_client",
    );
    // Another brand's keys are never borrowed: a tenant without its own is refused.
    let err = Client::builder(Identity::brand(brand_id(1)))
        .serial_no(SERIAL_NO)
        .private_key_pem(fixture_text("merchant_key.pem"))
        .share(&first)
        .build()
        .unwrap_err();
    assert!(matches!(err, ConfigError::Missing(_)), "{err:?}");
    // The same brand (another API certificate, say) verifies with the shared keys.
    let same = Client::builder(Identity::brand(brand_id(0)))
        .serial_no(PLATFORM_SERIAL)
        .private_key_pem(fixture_text("merchant_key.pem"))
        .share(&first)
        .build()
        .unwrap();
    assert_eq!(same.config().wechatpay_serial(), PUB_KEY_ID);
    assert!(format!("{:?}", same.config()).contains("trusted keys: shared"));
}
