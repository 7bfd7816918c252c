//! Calls all three product-coupon operations on a running sandbox from Rust,
//! through the transport client with typed requests and replies.
//!
//! It starts nothing itself. Start a sandbox first, then point this at it:
//!
//! ```sh
//! wechatpay sandbox --keys /tmp/wxp-keys            # prints http://127.0.0.1:PORT
//! cargo run -p wechatpay-cli --example call_sandbox -- /tmp/wxp-keys http://127.0.0.1:PORT
//! ```
//!
//! Everything else (mchid, brand_id, serial_no, public key id, key files) is
//! read from the sandbox's keys directory (`sandbox.json` and the PEM files).

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

// The operations: each request type names its own, so `client.execute(&request)`
// needs no turbofish (the impls live in this crate).
use wechatpay_endpoints as _;
use wechatpay_models::{
    CouponTagInfo, CouponType, MemberTagInfo, PreSendUserProductCouponBundleRequest,
    SendProductCouponRequest, SendUserProductCouponRequest, UserProductCouponTag,
};
use wechatpay_sandbox::keys::{
    Identity as SandboxIdentity, CLIENT_KEY_FILE, IDENTITY_FILE, WXP_PUB_FILE,
};
use wechatpay_transport::{Client, Identity};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// A client for `identity` with the sandbox's keys.
fn client(
    keys: &Path,
    base_url: &str,
    sandbox: &SandboxIdentity,
    identity: Identity,
) -> Result<Client> {
    Ok(Client::builder(identity)
        .base_url(base_url)
        .serial_no(&sandbox.serial_no)
        .private_key_file(keys.join(CLIENT_KEY_FILE))
        .wechatpay_public_key_file(&sandbox.public_key_id, keys.join(WXP_PUB_FILE))
        .build()?)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let keys = PathBuf::from(args.next().or_else(|| std::env::var("WECHATPAY_SANDBOX_KEYS").ok()).ok_or(
        "usage: call_sandbox KEYS_DIR BASE_URL (or WECHATPAY_SANDBOX_KEYS / WECHATPAY_BASE_URL)",
    )?);
    let base_url = args
        .next()
        .or_else(|| std::env::var("WECHATPAY_BASE_URL").ok())
        .ok_or("missing BASE_URL (the first line the sandbox printed)")?;
    let sandbox: SandboxIdentity =
        serde_json::from_slice(&std::fs::read(keys.join(IDENTITY_FILE))?)?;
    // Request numbers must be unique per request; retries reuse them.
    let run = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();

    // Merchant API: signed with WECHATPAY2-SHA256-RSA2048 and the mchid.
    let merchant = client(
        &keys,
        &base_url,
        &sandbox,
        Identity::merchant(&sandbox.mchid),
    )?;
    let request = SendProductCouponRequest::new(
        "oUser_example",
        "wx1234567889999",
        "12312354",
        format!("EXAMPLE_{run}"),
        CouponType::Normal,
    );
    let reply = merchant.execute(&request).await?;
    println!("send-product-coupon: {reply:?}");

    // Brand APIs: WECHATPAY-BRAND-SHA256-RSA2048, brand_id, Wechatpay-Serial.
    let brand = client(
        &keys,
        &base_url,
        &sandbox,
        Identity::brand(&sandbox.brand_id),
    )?;
    let request = PreSendUserProductCouponBundleRequest::new(
        "oh-394z-6CGkNoJrsDLTTUKiAnp4",
        "200000001",
        "100232301",
        "wx233544546545989",
        format!("EXAMPLE_BUNDLE_{run}"),
    );
    let reply = brand.execute(&request).await?;
    println!("pre-send-user-product-coupon-bundle: token {}", reply.token);

    // Another user than the demo's CLI call: the seeded stock allows one coupon per user.
    let request = SendUserProductCouponRequest::new(
        "oUser_rust_example",
        "1000000013",
        "1000000013001",
        "wx233544546545989",
        format!("EXAMPLE_SEND_{run}"),
    )
    .attach("sent by examples/call_sandbox.rs")
    .coupon_tag_info(
        CouponTagInfo::new()
            .coupon_tag_list(vec![UserProductCouponTag::Member])
            .member_tag_info(MemberTagInfo::new().member_card_id("MemberCardId_1234567890")),
    );
    let coupon = brand.execute(&request).await?;
    println!(
        "send-user-product-coupon: coupon {} ({:?}) for request {}, attach {:?}",
        coupon.coupon_code, coupon.coupon_state, coupon.send_request_no, coupon.attach
    );
    Ok(())
}
