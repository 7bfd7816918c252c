//! Every operation of `wechatpay_endpoints::ALL`, with every request example
//! of its doc page, through the real transport client against an in-process
//! sandbox: a 2xx reply, signed, that decodes into the operation's response
//! type (reached through the generated `dispatch`).
//!
//! Each example runs on a fresh sandbox (seeded with the doc example ids)
//! after the calls that bring the state where the example starts: a coupon
//! must have been sent before it is confirmed, confirmed before it is used,
//! and so on. Four examples name ids that contradict the other pages (a
//! bundle under a single-use product coupon, a pre-send of a bundle id as a
//! stock); `fix` points them at the seeded objects they mean — the list is in
//! the sandbox README. (set-notify-config's example URL is kept: nothing is
//! sent after it, so nothing is delivered.)

use std::future::Future;
use std::pin::Pin;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};
use wechatpay_runtime::{json as rtjson, Endpoint, EndpointInfo, EndpointVisitor};
use wechatpay_sandbox::{Options, Sandbox};
use wechatpay_transport::{AuthScheme, Client, Identity};

type Call<'a> = Pin<Box<dyn Future<Output = Result<Value, String>> + 'a>>;

/// Decodes a request into the operation's typed request and executes it.
struct Execute<'a> {
    client: &'a Client,
    request: Value,
}

impl<'a> EndpointVisitor for Execute<'a> {
    type Output = Call<'a>;

    fn visit<E: Endpoint>(self) -> Call<'a>
    where
        E::Request: DeserializeOwned,
        E::Response: Serialize,
    {
        Box::pin(async move {
            let request = rtjson::decode::<E>(&self.request).map_err(|p| format!("{p:?}"))?;
            let response: E::Response = self
                .client
                .execute::<E>(&request)
                .await
                .map_err(|e| format!("{e}"))?;
            serde_json::to_value(&response).map_err(|e| e.to_string())
        })
    }
}

/// The example's body with its path and query parameters merged in.
fn example_request(info: &EndpointInfo, index: usize) -> Value {
    let example = &info.request_examples[index];
    let mut value: Value = if example.body.trim().is_empty() {
        json!({})
    } else {
        serde_json::from_str(example.body).unwrap()
    };
    let params: Vec<(String, String)> = example
        .path_params
        .iter()
        .chain(example.query_params)
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    rtjson::merge_params(info.request, &mut value, &params).unwrap();
    value
}

/// What must have happened before an example of `op` can succeed: (operation, example index).
fn setup(op: &str) -> &'static [(&'static str, usize)] {
    const SEND: (&str, usize) = ("send-user-product-coupon", 1);
    const CONFIRM: (&str, usize) = ("confirm-send-user-product-coupon", 0);
    const USE: (&str, usize) = ("use-user-product-coupon", 0);
    match op {
        "confirm-send-user-product-coupon"
        | "get-user-product-coupon"
        | "deactivate-user-product-coupon"
        | "list-user-product-coupons" => &[SEND],
        "use-user-product-coupon" => &[SEND, CONFIRM],
        "return-user-product-coupon" => &[SEND, CONFIRM, USE],
        "get-notify-config" => &[("set-notify-config", 0)],
        "deactivate-user-product-coupon-bundle" => &[("send-user-product-coupon-bundle", 0)],
        _ => &[],
    }
}

/// Points the examples that contradict the other pages at the seeded objects.
/// `previous` is the reply of the last setup call.
fn fix(op: &str, request: &mut Value, previous: Option<&Value>) {
    match op {
        // Bundle 712315129419284901 (and every bundle) belongs to the PROGRESSIVE_BUNDLE
        // product coupon 200000001, not to the single-use 1000000013.
        "send-user-product-coupon-bundle" => {
            request["product_coupon_id"] = json!("200000001");
            request["stock_bundle_id"] = json!("100232301");
        }
        "deactivate-user-product-coupon-bundle" => {
            request["product_coupon_id"] = json!("200000001");
            request["user_coupon_bundle_id"] = previous.unwrap()["user_coupon_bundle_id"].clone();
        }
        // 100232301 is a stock bundle id; a single pre-send takes a stock (and an uploaded code).
        "pre-send-user-product-coupon" => {
            request["product_coupon_id"] = json!("1000000013");
            request["stock_id"] = json!("1000000013001");
            request["coupon_code"] = json!(wechatpay_sandbox::EXAMPLE_CODE);
        }
        _ => {}
    }
}

async fn call(
    client: &Client,
    op: &str,
    index: usize,
    previous: Option<&Value>,
) -> Result<Value, String> {
    let info = wechatpay_endpoints::find(op).unwrap();
    let mut request = example_request(info, index);
    fix(op, &mut request, previous);
    wechatpay_endpoints::dispatch(op, Execute { client, request })
        .expect("a generated endpoint")
        .await
}

#[test]
fn every_example_of_every_operation_gets_a_signed_reply_of_its_response_type() {
    let keys = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut ran = 0;
    let mut failures = Vec::new();
    for info in wechatpay_endpoints::ALL {
        assert!(
            !info.request_examples.is_empty(),
            "{} has no request example",
            info.operation_id
        );
        for index in 0..info.request_examples.len() {
            let sandbox = Sandbox::start(Options::new(keys.path())).unwrap();
            let id = &sandbox.keys().identity;
            let identity = match info.auth {
                AuthScheme::Brand => Identity::brand(id.brand_id.as_str()),
                AuthScheme::Merchant => Identity::merchant(id.mchid.as_str()),
            };
            let client = sandbox.client_builder(identity).build().unwrap();
            let outcome = runtime.block_on(async {
                let mut previous = None;
                for (op, i) in setup(info.operation_id) {
                    let reply = call(&client, op, *i, previous.as_ref())
                        .await
                        .map_err(|e| format!("setup {op}[{i}]: {e}"))?;
                    previous = Some(reply);
                }
                call(&client, info.operation_id, index, previous.as_ref()).await
            });
            match outcome {
                Ok(reply) => {
                    assert!(
                        reply.as_object().is_some_and(|m| !m.is_empty()),
                        "{}[{index}]: empty reply {reply}",
                        info.operation_id
                    );
                    ran += 1;
                }
                Err(e) => failures.push(format!(
                    "{}[{index}] {:?}: {e}",
                    info.operation_id, info.request_examples[index].name
                )),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    let examples: usize = wechatpay_endpoints::ALL
        .iter()
        .map(|i| i.request_examples.len())
        .sum();
    assert_eq!(ran, examples);
    eprintln!("{ran} examples of {} operations", wechatpay_endpoints::ALL.len());
}
