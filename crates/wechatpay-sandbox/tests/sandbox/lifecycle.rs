//! A brand's whole integration against the in-process sandbox through the
//! Rust client: create a product coupon with its stock, send a coupon, receive
//! the PRODUCT_COUPON.SEND notification on a server on 127.0.0.1 (verified and
//! decrypted with `NotificationHandler`), confirm, use, return, deactivate,
//! page, run into the budgets, move the clock until the coupons expire, and
//! run into the rate limit — with the documented answer at each step.

use crate::common;

use std::time::Duration;

use common::{
    admin, api_error, assert_answer, brand_client, notification_handler, runtime, Receiver,
};
use serde_json::json;
use wechatpay_models::{
    ConfirmSendUserProductCouponRequest, CreateProductCouponRequest,
    DeactivateUserProductCouponRequest, GetProductCouponRequest, GetUserProductCouponRequest,
    ListStocksRequest, ListUserProductCouponsRequest, ProductCouponNotification,
    ProductCouponScope, ProductCouponType, ReturnUserProductCouponRequest,
    SendUserProductCouponRequest, SetNotifyConfigRequest, StockState, UpdateBudgetMode,
    UpdateStockBudgetRequest, UseUserProductCouponRequest, UserProductCouponAssociatedOrderInfo,
    UserProductCouponState,
};
use wechatpay_sandbox::answers::trouble;
use wechatpay_sandbox::clock::datetime;
use wechatpay_sandbox::{Options, RateLimit, Sandbox};
use wechatpay_transport::Client;

const APPID: &str = "wx233544546545989";
const DAY: i64 = 86_400;

fn create_request(now: i64) -> CreateProductCouponRequest {
    serde_json::from_value(json!({
        "out_request_no": "LIFE_CREATE_1",
        "scope": "ALL", "type": "NORMAL", "usage_mode": "SINGLE",
        "single_usage_info": {"normal_coupon": {"threshold": 10000, "discount_amount": 1000}},
        "display_info": {"name": "满100减10", "image_url": "https://example.invalid/i.png",
                         "background_url": "https://example.invalid/b.png"},
        "stock": {
            "coupon_code_mode": "WECHATPAY",
            "stock_send_rule": {"max_count": 3, "max_count_per_user": 2},
            "single_usage_rule": {"coupon_available_period": {
                "available_begin_time": datetime(now - DAY).to_string(),
                "available_end_time": datetime(now + 30 * DAY).to_string()
            }},
            "usage_rule_display_info": {"coupon_usage_method_list": ["OFFLINE"], "usage_description": "全场可用"},
            "coupon_display_info": {"code_display_mode": "INVISIBLE"},
            "notify_config": {"notify_appid": APPID},
            "store_scope": "NONE"
        }
    }))
    .unwrap()
}

struct Ids {
    product_coupon: String,
    stock: String,
}

async fn send(
    client: &Client,
    ids: &Ids,
    openid: &str,
    number: &str,
) -> Result<
    String,
    wechatpay_transport::ApiError<wechatpay_endpoints::brand::SendUserProductCouponErrorCode>,
> {
    let request = SendUserProductCouponRequest::new(
        openid,
        ids.product_coupon.as_str(),
        ids.stock.as_str(),
        APPID,
        number,
    );
    match client.execute(&request).await {
        Ok(coupon) => {
            assert_eq!(coupon.coupon_state, UserProductCouponState::Confirming);
            Ok(coupon.coupon_code)
        }
        Err(other) => match other.into_kind() {
            wechatpay_transport::ErrorKind::Api(e) => Err(e),
            other => panic!("send: {other}"),
        },
    }
}

fn use_request(ids: &Ids, openid: &str, code: &str, number: &str) -> UseUserProductCouponRequest {
    let mut order = UserProductCouponAssociatedOrderInfo::new();
    order.transaction_id = Some("4200000000123456789123456789".into());
    let mut r = UseUserProductCouponRequest::new(
        openid,
        code,
        ids.product_coupon.as_str(),
        ids.stock.as_str(),
        APPID,
        common::now(),
        number,
    );
    r.associated_order_info = Some(order);
    r
}

#[test]
fn a_brand_runs_its_whole_integration_against_the_sandbox() {
    let keys = common::keys();
    let sandbox = Sandbox::start(Options::new(keys.path())).unwrap();
    let client = brand_client(&sandbox);
    let receiver = Receiver::start(Vec::new());
    let handler = notification_handler(&sandbox);
    let rt = runtime();
    rt.block_on(async {
        // The notify URL: http is fine on loopback.
        let config = client
            .execute(&SetNotifyConfigRequest::new(receiver.url.as_str()))
            .await
            .unwrap();
        assert_eq!(config.notify_url, receiver.url);

        // Create: a product coupon with its stock (budget 3, two per user), SENDING at once.
        let now = admin_now(&sandbox).await;
        let created = client.execute(&create_request(now)).await.unwrap();
        let stock = created.stock.unwrap();
        assert_eq!(stock.state, StockState::Sending);
        let ids = Ids {
            product_coupon: created.product_coupon_id,
            stock: stock.stock_id,
        };

        // Send → PRODUCT_COUPON.SEND, verified and decrypted.
        let code = send(&client, &ids, "o-alice", "LIFE_SEND_1").await.unwrap();
        let delivery = receiver
            .next(Duration::from_secs(10))
            .expect("a notification within 10 s");
        assert_eq!(
            delivery.headers["Wechatpay-Signature-Type"],
            "WECHATPAY-BRAND-SHA256-RSA2048"
        );
        let event = handler
            .handle::<ProductCouponNotification>(&delivery.headers, &delivery.body)
            .expect("the notification verifies and decrypts");
        assert_eq!(event.notification.event_type, "PRODUCT_COUPON.SEND");
        assert_eq!(event.notification.resource.algorithm, "AEAD_AES_256_GCM");
        assert_eq!(event.resource.coupon_code.as_deref(), Some(code.as_str()));
        assert_eq!(event.resource.openid.as_deref(), Some("o-alice"));

        // Not usable before it is confirmed: 用户券状态非法.
        let early = api_error(
            client
                .execute(&use_request(&ids, "o-alice", &code, "LIFE_USE_0"))
                .await,
        );
        assert_answer(&early, 400, "INVALID_REQUEST", Some(trouble::ILLEGAL_STATE));

        // Confirm → EFFECTIVE (its validity has begun); use → USED.
        let confirmed = client
            .execute(&ConfirmSendUserProductCouponRequest::new(
                "o-alice",
                code.as_str(),
                ids.product_coupon.as_str(),
                ids.stock.as_str(),
                APPID,
                "LIFE_CONFIRM_1",
            ))
            .await
            .unwrap();
        assert_eq!(confirmed.coupon_state, UserProductCouponState::Effective);
        assert_eq!(
            confirmed.confirm_request_no.as_deref(),
            Some("LIFE_CONFIRM_1")
        );
        let used = client
            .execute(&use_request(&ids, "o-alice", &code, "LIFE_USE_1"))
            .await
            .unwrap();
        assert_eq!(used.coupon_state, UserProductCouponState::Used);
        let again = api_error(
            client
                .execute(&use_request(&ids, "o-alice", &code, "LIFE_USE_2"))
                .await,
        );
        assert_answer(&again, 400, "INVALID_REQUEST", Some(trouble::ALREADY_USED));

        // Return → back to the user, usable again.
        let returned = client
            .execute(&ReturnUserProductCouponRequest::new(
                "o-alice",
                code.as_str(),
                ids.product_coupon.as_str(),
                ids.stock.as_str(),
                APPID,
                "LIFE_RETURN_1",
            ))
            .await
            .unwrap();
        assert_eq!(returned.coupon_state, UserProductCouponState::Effective);
        let detail = returned.single_usage_detail.unwrap();
        assert_eq!(detail.use_request_no.as_deref(), Some("LIFE_USE_1"));
        assert_eq!(detail.return_request_no.as_deref(), Some("LIFE_RETURN_1"));

        // Deactivate → DEACTIVATED, and nothing more can be done with it.
        let deactivated = client
            .execute(&DeactivateUserProductCouponRequest::new(
                "o-alice",
                code.as_str(),
                ids.product_coupon.as_str(),
                ids.stock.as_str(),
                APPID,
                "LIFE_DEACTIVATE_1",
                "商品已下线",
            ))
            .await
            .unwrap();
        assert_eq!(
            deactivated.coupon_state,
            UserProductCouponState::Deactivated
        );
        let after = api_error(
            client
                .execute(&use_request(&ids, "o-alice", &code, "LIFE_USE_3"))
                .await,
        );
        assert_answer(&after, 400, "INVALID_REQUEST", Some(trouble::ILLEGAL_STATE));

        // Budgets: two per user, three in all; raising max_count lets sending go on.
        let second = send(&client, &ids, "o-alice", "LIFE_SEND_2").await.unwrap();
        let limit = send(&client, &ids, "o-alice", "LIFE_SEND_3")
            .await
            .unwrap_err();
        assert_answer(&limit, 400, "USER_RECEIVE_LIMIT", Some(trouble::USER_LIMIT));
        send(&client, &ids, "o-bob", "LIFE_SEND_4").await.unwrap();
        let exhausted = send(&client, &ids, "o-carol", "LIFE_SEND_5")
            .await
            .unwrap_err();
        assert_answer(&exhausted, 400, "STOCK_INSUFFICIENT", None);
        let mut budget = UpdateStockBudgetRequest::new(
            ids.product_coupon.as_str(),
            ids.stock.as_str(),
            "LIFE_BUDGET_1",
            UpdateBudgetMode::MaxCount,
        );
        budget.current_max_count = Some(3);
        budget.target_max_count = Some(10);
        let raised = client.execute(&budget).await.unwrap();
        assert_eq!(raised.stock_send_rule.max_count, 10);
        assert_eq!(raised.sent_count_info.total_count, Some(3));
        send(&client, &ids, "o-carol", "LIFE_SEND_5").await.unwrap();

        // Page through Alice's coupons one at a time; filter by state.
        let mut codes = Vec::new();
        let mut token = None;
        for _ in 0..10 {
            let mut page = ListUserProductCouponsRequest::new("o-alice", APPID);
            page.page_size = Some(1);
            page.page_token = token.take();
            let reply = client.execute(&page).await.unwrap();
            assert_eq!(reply.total_count, Some(2));
            codes.extend(
                reply
                    .user_coupon_list
                    .unwrap()
                    .into_iter()
                    .map(|c| c.coupon_code),
            );
            token = reply.next_page_token;
            if token.is_none() {
                break;
            }
        }
        assert_eq!(codes, [code.clone(), second.clone()]);
        let mut deactivated_only = ListUserProductCouponsRequest::new("o-alice", APPID);
        deactivated_only.coupon_state = Some(UserProductCouponState::Deactivated);
        let reply = client.execute(&deactivated_only).await.unwrap();
        assert_eq!(reply.total_count, Some(1));

        // Every later event was notified too: a SEND per issued coupon, the USE and the RETURN.
        let mut events = Vec::new();
        while let Some(d) = receiver.next(Duration::from_secs(5)) {
            let e = handler
                .handle::<ProductCouponNotification>(&d.headers, &d.body)
                .unwrap();
            events.push(e.notification.event_type);
            if events.len() == 5 {
                break;
            }
        }
        events.sort();
        assert_eq!(
            events,
            [
                "PRODUCT_COUPON.RETURN",
                "PRODUCT_COUPON.SEND",
                "PRODUCT_COUPON.SEND",
                "PRODUCT_COUPON.SEND",
                "PRODUCT_COUPON.USE"
            ]
        );

        // Thirty-one days later: the coupons have expired and the stock has stopped.
        let clock = admin(
            &sandbox,
            "POST",
            "/sandbox/clock",
            Some(json!({"advance_seconds": 31 * DAY})),
        )
        .await;
        assert_eq!(clock["offset_seconds"], 31 * DAY);
        let expired = client
            .execute(&GetUserProductCouponRequest::new(
                "o-alice",
                second.as_str(),
                ids.product_coupon.as_str(),
                ids.stock.as_str(),
                APPID,
            ))
            .await
            .unwrap();
        assert_eq!(expired.coupon_state, UserProductCouponState::Expired);
        let late = api_error(
            client
                .execute(&use_request(&ids, "o-alice", &second, "LIFE_USE_4"))
                .await,
        );
        assert_answer(&late, 400, "INVALID_REQUEST", Some(trouble::COUPON_EXPIRED));
        let stocks = client
            .execute(&ListStocksRequest::new(ids.product_coupon.as_str()))
            .await
            .unwrap();
        assert_eq!(stocks.stock_list.unwrap()[0].state, StockState::Stopped);
        let stopped = send(&client, &ids, "o-dave", "LIFE_SEND_6")
            .await
            .unwrap_err();
        assert_answer(&stopped, 400, "STOCK_EXPIRED", None);
    });
}

/// 品类券 (scope CATEGORY, brand page 4016427370): created and read back as a
/// known scope; like a 全场券 it is NORMAL or DISCOUNT only.
#[test]
fn a_category_coupon_is_a_known_scope_and_cannot_be_an_exchange_coupon() {
    let keys = common::keys();
    let sandbox = Sandbox::start(Options::new(keys.path())).unwrap();
    let client = brand_client(&sandbox);
    runtime().block_on(async {
        let now = admin_now(&sandbox).await;
        let mut request = create_request(now);
        request.out_request_no = "CATEGORY_CREATE_1".into();
        request.scope = ProductCouponScope::Category;
        request.validate().unwrap();
        let created = client.execute(&request).await.unwrap();
        assert_eq!(created.scope, ProductCouponScope::Category);
        let read = client
            .execute(&GetProductCouponRequest::new(
                created.product_coupon_id.as_str(),
            ))
            .await
            .unwrap();
        assert_eq!(read.scope, ProductCouponScope::Category);

        let mut exchange = create_request(now);
        exchange.out_request_no = "CATEGORY_CREATE_2".into();
        exchange.scope = ProductCouponScope::Category;
        exchange.r#type = ProductCouponType::Exchange;
        exchange.single_usage_info = None;
        let refused = api_error(client.execute(&exchange).await);
        assert_answer(&refused, 400, "INVALID_REQUEST", None);
    });
}

/// The sandbox's business time now, as Unix seconds.
async fn admin_now(sandbox: &Sandbox) -> i64 {
    let clock = admin(sandbox, "GET", "/sandbox/clock", None).await;
    clock["now"]
        .as_str()
        .unwrap()
        .parse::<wechatpay_runtime::DateTime>()
        .unwrap()
        .unix_timestamp()
}

#[test]
fn beyond_the_per_brand_rate_the_answer_is_429_frequency_limited() {
    let keys = common::keys();
    let sandbox = Sandbox::start(Options {
        rate_limit: RateLimit::UserCoupon(3),
        ..Options::new(keys.path())
    })
    .unwrap();
    let client = brand_client(&sandbox);
    runtime().block_on(async {
        let request = GetUserProductCouponRequest::new(
            "o-nobody",
            "NO_SUCH_CODE",
            "1000000013",
            "1000000013001",
            APPID,
        );
        let mut answers = Vec::new();
        for _ in 0..6 {
            answers.push(api_error(client.execute(&request).await));
        }
        // The first three are served (an unknown coupon: 404 with 用户券不存在) ...
        for e in &answers[..3] {
            assert_answer(
                e,
                404,
                "RESOURCE_NOT_EXISTS",
                Some(trouble::COUPON_NOT_FOUND),
            );
        }
        // ... and at least one beyond 3/s is refused.
        let limited: Vec<_> = answers[3..].iter().filter(|e| e.status == 429).collect();
        assert!(!limited.is_empty(), "no 429 in {answers:?}");
        assert_answer(
            limited[0],
            429,
            "FREQUENCY_LIMITED",
            Some(trouble::TOO_FREQUENT),
        );
    });
    // `off` serves everything.
    let free = Sandbox::start(Options {
        rate_limit: RateLimit::Off,
        ..Options::new(keys.path())
    })
    .unwrap();
    let client = brand_client(&free);
    runtime().block_on(async {
        let request =
            GetUserProductCouponRequest::new("o", "C", "1000000013", "1000000013001", APPID);
        for _ in 0..10 {
            let e = api_error(client.execute(&request).await);
            assert_eq!(e.status, 404);
        }
    });
}
