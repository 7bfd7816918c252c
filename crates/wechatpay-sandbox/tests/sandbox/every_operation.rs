//! Every operation of `wechatpay_endpoints::ALL`, with every request example
//! of its doc page, through the real transport client against an in-process
//! sandbox: a 2xx reply, signed, that decodes into the operation's response
//! type (reached through the generated `dispatch`).
//!
//! Each example runs on a fresh sandbox (seeded with the doc example ids)
//! after the calls that bring the state where the example starts: a coupon
//! must have been sent before it is confirmed, confirmed before it is used,
//! and so on (`common::examples`). (set-notify-config's example URL is kept:
//! nothing is sent after it, so nothing is delivered.)

use crate::common;

use common::examples::{call, client_for, execute, prepare};
use common::partner;
use wechatpay_sandbox::{Options, Sandbox};

#[test]
fn every_example_of_every_operation_gets_a_signed_reply_of_its_response_type() {
    let keys = common::keys();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut ran = 0;
    let mut failures = Vec::new();
    for info in brand_and_merchant() {
        assert!(
            !info.request_examples.is_empty(),
            "{} has no request example",
            info.operation_id
        );
        for index in 0..info.request_examples.len() {
            let sandbox = Sandbox::start(Options::new(keys.path())).unwrap();
            let client = client_for(&sandbox, info);
            let outcome = runtime.block_on(async {
                let previous = prepare(&client, info.operation_id).await?;
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
    let examples: usize = brand_and_merchant().map(|i| i.request_examples.len()).sum();
    assert_eq!(ran, examples);
    eprintln!(
        "{ran} examples of {} operations",
        brand_and_merchant().count()
    );
}

/// The operations whose examples run on the seeded objects (the partner family's
/// run on objects the provider creates first: `partner.rs`).
fn brand_and_merchant() -> impl Iterator<Item = &'static wechatpay_runtime::EndpointInfo> {
    wechatpay_endpoints::ALL
        .iter()
        .copied()
        .filter(|i| i.auth != wechatpay_transport::AuthScheme::Partner)
}

/// Every partner operation's examples, on the objects the provider created for an
/// authorised brand (`common::partner::Fixture`): a signed reply of the response
/// type that names the brand wherever the type has `brand_id`.
#[test]
fn every_example_of_every_partner_operation_answers_for_its_brand() {
    let keys = common::keys();
    let runtime = common::runtime();
    let mut ran = 0;
    let mut failures = Vec::new();
    for info in partner::operations() {
        for index in 0..info.request_examples.len() {
            let sandbox = Sandbox::start(Options::new(keys.path())).unwrap();
            let brand = sandbox.keys().identity.authorized_brand_ids[1].clone();
            let client = client_for(&sandbox, info);
            let outcome = runtime.block_on(async {
                let (fixture, previous) =
                    partner::prepare(&client, &brand, info.operation_id).await?;
                let request =
                    partner::request(&fixture, info.operation_id, index, previous.as_ref());
                execute(&client, info.operation_id, request).await
            });
            match outcome {
                Ok(reply) => {
                    let wrong = partner::missing_field(&reply, info.response, "brand_id", &brand);
                    assert!(
                        wrong.is_empty(),
                        "{}[{index}]: brand_id missing or wrong at {wrong:?} in {reply}",
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
    let examples: usize = partner::operations()
        .map(|i| i.request_examples.len())
        .sum();
    assert_eq!(ran, examples);
    assert!(partner::operations().count() >= 35);
}
