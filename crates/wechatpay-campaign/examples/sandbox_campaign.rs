//! A whole campaign against the in-process sandbox: five users each get a product
//! coupon (`send-user-product-coupon`), and each coupon is confirmed, the follow-up
//! the schema declares. Run it twice with the same journal and the second run sends
//! nothing: every row is already resolved.
//!
//! ```text
//! cargo run -p wechatpay-campaign --example sandbox_campaign
//! ```

use std::error::Error;

use wechatpay_campaign::{Campaign, CampaignSpec, Control, RunOptions};
use wechatpay_sandbox::{Options, Sandbox};
use wechatpay_transport::{Identity, RetryPolicy};

fn main() -> Result<(), Box<dyn Error>> {
    let dir = tempfile::tempdir()?;
    let sandbox = Sandbox::start(Options::new(dir.path().join("keys")))?;

    // The client as `wechatpay campaign send` builds it: signed as the sandbox's brand,
    // with no transport retries, because the campaign resends with the same request
    // number itself and must see every 429 to pace itself.
    let brand = Identity::brand(sandbox.keys().identity.brand_id.as_str());
    let client = sandbox
        .client_builder(brand)
        .retry(RetryPolicy::none())
        .build()?;

    // The CSV names request fields (here only the path parameter `openid`); the
    // template gives the fields every row shares. The stock and product coupon are
    // the ones the sandbox is seeded with.
    let input = dir.path().join("users.csv");
    let users: String = (0..5).map(|i| format!("oExampleUser{i:03}\n")).collect();
    std::fs::write(&input, format!("openid\n{users}"))?;
    let template = r#"{"product_coupon_id":"1000000013","stock_id":"1000000013001","appid":"wx233544546545989"}"#;
    let spec = CampaignSpec {
        operation: wechatpay_endpoints::find("send-user-product-coupon")
            .ok_or("the schema has no send-user-product-coupon")?,
        input,
        template_source: "template.json".into(),
        template: template.as_bytes().to_vec(),
        journal: dir.path().join("campaign.db"),
    };

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    for attempt in 1..=2 {
        // New: every row checked and numbered before anything is sent; else resumed.
        let campaign = Campaign::open(&spec)?;
        let summary =
            runtime.block_on(campaign.run(&client, &RunOptions::default(), &Control::new()))?;
        println!(
            "run {attempt}: {:?}; {} of {} rows succeeded (sent and confirmed), {} requests",
            summary.end, summary.counts.succeeded, summary.counts.total, summary.progress.requests
        );
    }
    Ok(())
}
