//! A brand's own web service (axum) with the WeChat Pay notify URL mounted in it:
//! `POST /wechatpay/notify` verifies, journals and acknowledges; the confirmer confirms
//! every sent coupon; the brand's other routes live beside it.
//!
//! ```sh
//! WECHATPAY_BASE_URL=http://127.0.0.1:PORT WECHATPAY_BRAND_ID=… WECHATPAY_SERIAL_NO=… \
//! WECHATPAY_PRIVATE_KEY=apiclient_key.pem WECHATPAY_PUBLIC_KEY_ID=PUB_KEY_ID_… \
//! WECHATPAY_PUBLIC_KEY=wxp_pub.pem WECHATPAY_APIV3_KEY=… WECHATPAY_APPID=wx… \
//!     cargo run -p wechatpay-notify --features axum --example axum_service -- 127.0.0.1:8080 notify.db
//! ```

use axum::extract::{FromRef, State};
use axum::routing::{get, post};
use axum::Router;
use wechatpay_notify::{ConfirmOptions, Confirmer, Journal, Receiver};
use wechatpay_transport::{ApiV3Key, Client, Identity, RetryPolicy};

type Fallible<T> = Result<T, Box<dyn std::error::Error>>;

/// The brand's application state; the notify handler takes the `Receiver` out of it.
#[derive(Clone)]
struct AppState {
    notify: Receiver,
    shop_name: &'static str,
}

impl FromRef<AppState> for Receiver {
    fn from_ref(state: &AppState) -> Receiver {
        state.notify.clone()
    }
}

fn setting(name: &str) -> Fallible<String> {
    std::env::var(name).map_err(|_| format!("set {name}").into())
}

async fn health(State(state): State<AppState>) -> String {
    let counts = state
        .notify
        .with_journal(|journal| journal.counts())
        .await
        .map(|c| format!("{} events, {} confirms pending", c.total, c.pending))
        .unwrap_or_else(|e| e.to_string());
    format!("{}: {counts}\n", state.shop_name)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Fallible<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, listen, journal] = args.as_slice() else {
        return Err("usage: axum_service LISTEN_ADDR JOURNAL.db".into());
    };
    let brand_id = setting("WECHATPAY_BRAND_ID")?;
    let client = Client::builder(Identity::brand(brand_id.as_str()))
        .base_url(setting("WECHATPAY_BASE_URL")?.as_str())
        .serial_no(setting("WECHATPAY_SERIAL_NO")?.as_str())
        .private_key_file(setting("WECHATPAY_PRIVATE_KEY")?)
        .wechatpay_public_key_file(
            setting("WECHATPAY_PUBLIC_KEY_ID")?.as_str(),
            setting("WECHATPAY_PUBLIC_KEY")?,
        )
        .retry(RetryPolicy::none())
        .resend_unverified_success(true)
        .build()?;
    let handler = client.notification_handler(ApiV3Key::new(&setting("WECHATPAY_APIV3_KEY")?)?);
    // Opened before listening: a journal that cannot be written stops the service
    // before any notification is acknowledged.
    let receiver = Receiver::builder(handler, Journal::open(journal.as_ref())?)
        .brand(brand_id)
        .appid(setting("WECHATPAY_APPID")?)
        .build();
    let confirmer = Confirmer::new(&receiver, [client], ConfirmOptions::default())?;

    let app = Router::new()
        .route("/healthz", get(health))
        .route("/wechatpay/notify", post(wechatpay_notify::axum::handle))
        .with_state(AppState {
            notify: receiver,
            shop_name: "demo shop",
        });
    let listener = tokio::net::TcpListener::bind(listen.as_str()).await?;
    println!("http://{}/wechatpay/notify", listener.local_addr()?);

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut confirm_stop = stopped.clone();
    let confirming = tokio::spawn(confirmer.run(async move {
        let _ = confirm_stop.wait_for(|s| *s).await;
    }));
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    let _ = stop.send(true);
    confirming.await??;
    drop(stopped);
    Ok(())
}
