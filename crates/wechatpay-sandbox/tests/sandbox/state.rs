//! The state behind the lifecycle: coupon code modes, daily budgets on the
//! business clock, stock bundles, stores with paging, ids that do not belong
//! together, deactivating a product coupon, and `--state FILE` across restarts.

use crate::common;

use common::{admin, api_error, assert_answer, brand_client, runtime};
use serde_json::json;
use wechatpay_models::{
    AssociateStoresRequest, CreateStockRequest, DeactivateProductCouponRequest,
    DeactivateUserProductCouponBundleRequest, DisassociateStoresRequest, GetStockRequest,
    GetUserProductCouponRequest, ListAssociatedStoresRequest, ListStocksRequest,
    SendUserProductCouponBundleRequest, SendUserProductCouponRequest, StockState, StoreInfo,
    UploadCouponCodesRequest, UserProductCouponState,
};
use wechatpay_sandbox::answers::trouble;
use wechatpay_sandbox::clock::datetime;
use wechatpay_sandbox::{Options, Sandbox};
use wechatpay_transport::Client;

const PC: &str = "1000000013";
const APPID: &str = "wx233544546545989";

/// A stock of product coupon 1000000013 with `mode` and the given send rule.
async fn create_stock(
    client: &Client,
    sandbox: &Sandbox,
    mode: &str,
    rule: serde_json::Value,
) -> String {
    let now = admin(sandbox, "GET", "/sandbox/clock", None).await["now"]
        .as_str()
        .unwrap()
        .parse::<wechatpay_runtime::DateTime>()
        .unwrap()
        .unix_timestamp();
    let request: CreateStockRequest = serde_json::from_value(json!({
        "product_coupon_id": PC,
        "out_request_no": format!("STOCK_{mode}_{}", rule["max_count"]),
        "stock": {
            "coupon_code_mode": mode,
            "stock_send_rule": rule,
            "single_usage_rule": {"coupon_available_period": {
                "available_begin_time": datetime(now).to_string(),
                "available_end_time": datetime(now + 20 * 86_400).to_string()
            }},
            "usage_rule_display_info": {"coupon_usage_method_list": ["OFFLINE"], "usage_description": "d"},
            "coupon_display_info": {"code_display_mode": "QRCODE"},
            "notify_config": {"notify_appid": APPID},
            "store_scope": "SPECIFIC"
        }
    }))
    .unwrap();
    client.execute(&request).await.unwrap().stock_id
}

fn send_request(
    stock: &str,
    openid: &str,
    number: &str,
    code: Option<&str>,
) -> SendUserProductCouponRequest {
    let number = format!("STATE_{number}");
    let mut r = SendUserProductCouponRequest::new(openid, PC, stock, APPID, number);
    r.coupon_code = code.map(str::to_owned);
    r
}

#[test]
fn coupon_codes_follow_the_stock_mode() {
    let keys = common::keys();
    let sb = Sandbox::start(Options::new(keys.path())).unwrap();
    let client = brand_client(&sb);
    runtime().block_on(async {
        let rule = json!({"max_count": 100, "max_count_per_user": 100});
        // UPLOAD hands out the uploaded codes in order, or the one asked for, then runs out.
        let upload = create_stock(&client, &sb, "UPLOAD", rule.clone()).await;
        // A code outside the charset is refused locally, item by item, before sending.
        let bad =
            UploadCouponCodesRequest::new(PC, upload.as_str(), "UPLOAD_0", vec!["bad code".into()]);
        let refused = client.execute(&bad).await.unwrap_err();
        assert!(refused.to_string().contains("code_list[0]"), "{refused}");
        let mut codes = UploadCouponCodesRequest::new(
            PC,
            upload.as_str(),
            "UPLOAD_1",
            vec!["A1".into(), "A2".into(), "A1".into()],
        );
        let reply = client.execute(&codes).await.unwrap();
        assert_eq!(reply.total_count, Some(2));
        assert_eq!(reply.success_code_list.unwrap(), ["A1", "A2"]);
        assert_eq!(reply.duplicate_code_list.unwrap(), ["A1"]);
        codes.out_request_no = "UPLOAD_2".into();
        codes.code_list = vec!["A2".into()];
        let reply = client.execute(&codes).await.unwrap();
        assert_eq!(reply.already_exist_code_list.unwrap(), ["A2"]);
        let send = |n: &str, code: Option<&str>| send_request(&upload, "o-up", n, code);
        let first = client.execute(&send("U1", Some("A2"))).await.unwrap();
        assert_eq!(first.coupon_code, "A2");
        let stock = first.stock.coupon_code_count_info.unwrap();
        assert_eq!(
            (stock.total_count, stock.available_count),
            (Some(2), Some(1))
        );
        let second = client.execute(&send("U2", None)).await.unwrap();
        assert_eq!(second.coupon_code, "A1");
        let e = api_error(client.execute(&send("U3", None)).await);
        assert_answer(&e, 400, "STOCK_INSUFFICIENT", None);
        let e = api_error(client.execute(&send("U4", Some("A9"))).await);
        assert_answer(&e, 400, "INVALID_REQUEST", Some(trouble::ILLEGAL_PARAMETER));

        // API_ASSIGN needs a code, once; WECHATPAY takes none and assigns its own.
        let assign = create_stock(&client, &sb, "API_ASSIGN", rule.clone()).await;
        let e = api_error(
            client
                .execute(&send_request(&assign, "o-as", "AS1", None))
                .await,
        );
        assert_answer(&e, 400, "PARAM_ERROR", None);
        let mine = client
            .execute(&send_request(&assign, "o-as", "AS2", Some("MINE_1")))
            .await
            .unwrap();
        assert_eq!(mine.coupon_code, "MINE_1");
        let e = api_error(
            client
                .execute(&send_request(&assign, "o-as2", "AS3", Some("MINE_1")))
                .await,
        );
        assert_answer(&e, 400, "INVALID_REQUEST", Some(trouble::ILLEGAL_PARAMETER));
        let generated = create_stock(&client, &sb, "WECHATPAY", rule).await;
        let e = api_error(
            client
                .execute(&send_request(&generated, "o-wx", "WX1", Some("X")))
                .await,
        );
        assert_answer(&e, 400, "PARAM_ERROR", None);
        let a = client
            .execute(&send_request(&generated, "o-wx", "WX2", None))
            .await
            .unwrap();
        let b = client
            .execute(&send_request(&generated, "o-wx", "WX3", None))
            .await
            .unwrap();
        assert_ne!(a.coupon_code, b.coupon_code);
    });
}

#[test]
fn the_daily_budget_resets_on_the_next_business_day() {
    let keys = common::keys();
    let sb = Sandbox::start(Options::new(keys.path())).unwrap();
    let client = brand_client(&sb);
    runtime().block_on(async {
        let stock = create_stock(
            &client,
            &sb,
            "WECHATPAY",
            json!({"max_count": 10, "max_count_per_day": 1, "max_count_per_user": 10}),
        )
        .await;
        client
            .execute(&send_request(&stock, "o-d", "D1", None))
            .await
            .unwrap();
        let e = api_error(
            client
                .execute(&send_request(&stock, "o-d", "D2", None))
                .await,
        );
        assert_answer(&e, 400, "STOCK_INSUFFICIENT", None);
        assert!(e.message.contains("max_count_per_day"), "{e}");
        admin(
            &sb,
            "POST",
            "/sandbox/clock",
            Some(json!({"advance_seconds": 86_400})),
        )
        .await;
        let next_day = client
            .execute(&send_request(&stock, "o-d", "D3", None))
            .await
            .unwrap();
        assert_eq!(next_day.stock.sent_count_info.today_count, Some(1));
        assert_eq!(next_day.stock.sent_count_info.total_count, Some(2));
    });
}

#[test]
fn a_stock_bundle_issues_one_coupon_per_round_and_deactivates_them_together() {
    let keys = common::keys();
    let sb = Sandbox::start(Options::new(keys.path())).unwrap();
    let client = brand_client(&sb);
    runtime().block_on(async {
        let request = SendUserProductCouponBundleRequest::new(
            "o-b",
            "200000001",
            "100232301",
            APPID,
            "BUNDLE_1",
        );
        let sent = client.execute(&request).await.unwrap();
        assert_eq!(sent.user_product_coupon_list.len(), 3);
        for (i, c) in sent.user_product_coupon_list.iter().enumerate() {
            let info = c.user_product_coupon_bundle_info.as_ref().unwrap();
            assert_eq!(
                (info.user_coupon_bundle_index, info.total_count),
                (i as i64, 3)
            );
            assert_eq!(info.user_coupon_bundle_id, sent.user_coupon_bundle_id);
        }
        // A single-use product coupon has no bundles.
        let wrong =
            SendUserProductCouponBundleRequest::new("o-b", PC, "100232301", APPID, "BUNDLE_2");
        let e = api_error(client.execute(&wrong).await);
        assert_answer(&e, 400, "INVALID_REQUEST", None);
        let off = DeactivateUserProductCouponBundleRequest::new(
            "o-b",
            sent.user_coupon_bundle_id.as_str(),
            "200000001",
            "100232301",
            APPID,
            "BUNDLE_OFF_1",
            "活动结束",
        );
        let reply = client.execute(&off).await.unwrap();
        assert!(reply
            .user_product_coupon_list
            .iter()
            .all(|c| c.coupon_state == UserProductCouponState::Deactivated));
        let bundle = ListStocksRequest::new("200000001");
        let mut only = bundle.clone();
        only.stock_bundle_id = Some("100232301".into());
        let stocks = client.execute(&only).await.unwrap();
        assert_eq!(stocks.total_count, Some(3));
        assert!(stocks
            .stock_list
            .unwrap()
            .iter()
            .all(|s| s.sent_count_info.total_count == Some(1)));
    });
}

#[test]
fn stores_page_and_ids_must_belong_together() {
    let keys = common::keys();
    let sb = Sandbox::start(Options::new(keys.path())).unwrap();
    let client = brand_client(&sb);
    runtime().block_on(async {
        let stores: Vec<StoreInfo> = (1..=5).map(|i| StoreInfo::new(format!("S{i}"))).collect();
        let reply = client
            .execute(&AssociateStoresRequest::new(PC, "1000000013001", stores))
            .await
            .unwrap();
        assert_eq!(reply.total_count, Some(5));
        let mut seen = Vec::new();
        let mut token = None;
        for _ in 0..10 {
            let mut page = ListAssociatedStoresRequest::new(PC, "1000000013001");
            page.page_size = Some(2);
            page.page_token = token.take();
            let reply = client.execute(&page).await.unwrap();
            assert_eq!(reply.total_count, Some(5));
            seen.extend(reply.store_list.unwrap().into_iter().map(|s| s.store_id));
            token = reply.next_page_token;
            if token.is_none() {
                break;
            }
        }
        assert_eq!(seen, ["S1", "S2", "S3", "S4", "S5"]);
        let gone = client
            .execute(&DisassociateStoresRequest::new(
                PC,
                "1000000013001",
                vec![StoreInfo::new("S1"), StoreInfo::new("S9")],
            ))
            .await
            .unwrap();
        assert_eq!(gone.success_store_list.unwrap()[0].store_id, "S1");
        assert_eq!(gone.failed_store_list.unwrap()[0].store_id, "S9");

        // A stock outside its product coupon, and an unknown one: 404 with 访问对象不存在.
        for (pc, stock) in [("200000001", "1000000013001"), (PC, "999")] {
            let e = api_error(client.execute(&GetStockRequest::new(pc, stock)).await);
            assert_answer(
                &e,
                404,
                "RESOURCE_NOT_EXISTS",
                Some(trouble::OBJECT_NOT_FOUND),
            );
        }
        let e = api_error(
            client
                .execute(&send_request("100232301001", "o-x", "X1", None))
                .await,
        );
        assert_answer(
            &e,
            404,
            "RESOURCE_NOT_EXISTS",
            Some(trouble::OBJECT_NOT_FOUND),
        );
    });
}

#[test]
fn deactivating_a_product_coupon_stops_its_stocks_but_not_its_coupons() {
    let keys = common::keys();
    let sb = Sandbox::start(Options::new(keys.path())).unwrap();
    let client = brand_client(&sb);
    runtime().block_on(async {
        let sent = client
            .execute(&send_request("1000000013001", "o-k", "K1", None))
            .await
            .unwrap();
        client
            .execute(&DeactivateProductCouponRequest::new(
                PC,
                "K_OFF_1",
                "重新创建",
            ))
            .await
            .unwrap();
        let stock = client
            .execute(&GetStockRequest::new(PC, "1000000013001"))
            .await
            .unwrap();
        assert_eq!(stock.state, StockState::Deactivated);
        let e = api_error(
            client
                .execute(&send_request("1000000013001", "o-k2", "K2", None))
                .await,
        );
        assert_answer(&e, 400, "STOCK_STATE_ERROR", None);
        let coupon = client
            .execute(&GetUserProductCouponRequest::new(
                "o-k",
                sent.coupon_code.as_str(),
                PC,
                "1000000013001",
                APPID,
            ))
            .await
            .unwrap();
        assert_eq!(coupon.coupon_state, UserProductCouponState::Confirming);
    });
}

#[test]
fn a_state_file_keeps_coupons_request_numbers_and_the_clock_across_restarts() {
    let keys = common::keys();
    let file = keys.path().join("state.db");
    let options = || Options {
        state: Some(file.clone()),
        ..Options::new(keys.path())
    };
    let request = send_request("1000000013001", "o-p", "PERSIST_1", None);
    let first = {
        let sb = Sandbox::start(options()).unwrap();
        let client = brand_client(&sb);
        runtime().block_on(async {
            admin(
                &sb,
                "POST",
                "/sandbox/clock",
                Some(json!({"advance_seconds": 3600})),
            )
            .await;
            client.execute(&request).await.unwrap()
        })
    };
    let sb = Sandbox::start(options()).unwrap();
    let client = brand_client(&sb);
    runtime().block_on(async {
        let clock = admin(&sb, "GET", "/sandbox/clock", None).await;
        assert_eq!(clock["offset_seconds"], 3600);
        let again = client.execute(&request).await.unwrap();
        assert_eq!(again, first, "the recorded result, not a second coupon");
        let stats = admin(&sb, "GET", "/sandbox/stats", None).await;
        assert_eq!(
            stats["operations"]["send-user-product-coupon"]["replayed"],
            1
        );
    });
}
