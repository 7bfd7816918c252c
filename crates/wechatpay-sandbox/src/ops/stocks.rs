//! Stocks: create / get / list / update / update-budget / deactivate.
//!
//! A new stock is SENDING at once (the sandbox approves it). update-stock and
//! upload-coupon-codes need SENDING or PAUSED, update-stock-budget a stock
//! that is neither deactivated nor stopped (family README, "Product coupon
//! and stock states").

use wechatpay_endpoints::brand::{
    CreateStock, DeactivateStock, GetStock, ListStocks, UpdateStock, UpdateStockBudget,
};
use wechatpay_models::{
    CreateStockRequest, DeactivateStockRequest, GetStockRequest, ListStocksRequest,
    ListStocksResponse, ProductCouponEntity, ProductCouponScope, ProductCouponType, StockEntity,
    StockForCreate, StockSentCountInfo, StockState, UpdateStockBudgetRequest, UpdateStockRequest,
    UsageMode,
};
use wechatpay_runtime::WireEnum;

use super::budget::BudgetChange;
use super::{Ctx, Operation};
use crate::answers::{self, trouble};
use crate::clock::datetime;
use crate::model::paging::Page;
use crate::model::product_coupon::{self, wire};
use crate::model::stock::{self, Stock, STATE_SQL};
use crate::replies::Rejection;
use crate::sql;

/// At most this many effective stocks per product coupon (partner page 4015781304).
const MAX_EFFECTIVE_STOCKS: i64 = 200;

/// Creates a SENDING stock under `pc` (create-stock, and create-product-coupon's first stock).
pub(super) fn create_in(
    ctx: &Ctx<'_>,
    pc: &ProductCouponEntity,
    s: StockForCreate,
) -> Result<StockEntity, Rejection> {
    if pc.usage_mode != UsageMode::Single {
        return Err(answers::invalid(
            ctx.info,
            format!(
                "product coupon {} is {}: its stocks are created in stock bundles (create-stock-bundle)",
                pc.product_coupon_id,
                wire(&pc.usage_mode)
            ),
            None,
        ));
    }
    if pc.scope == ProductCouponScope::Single {
        let rule = s.single_usage_rule.as_ref();
        let has = match pc.r#type {
            ProductCouponType::Normal => rule.is_some_and(|r| r.normal_coupon.is_some()),
            ProductCouponType::Discount => rule.is_some_and(|r| r.discount_coupon.is_some()),
            ProductCouponType::Exchange => rule.is_some_and(|r| r.exchange_coupon.is_some()),
            _ => true,
        };
        if !has {
            return Err(answers::invalid(
                ctx.info,
                "单券使用模式的商品券批次,应该在「单券使用规则」中包含对应类型的优惠规则",
                None,
            ));
        }
    }
    let effective: i64 = sql::row(
        ctx.db,
        // STATE_SQL reads the business time from ?2.
        &format!(
            "SELECT COUNT(*) FROM stocks WHERE product_coupon_id = ?1 \
             AND {STATE_SQL} NOT IN ('STOPPED', 'DEACTIVATED')"
        ),
        rusqlite::params![pc.product_coupon_id, ctx.now],
        |r| r.get(0),
    )?;
    if effective >= MAX_EFFECTIVE_STOCKS {
        return Err(answers::invalid(
            ctx.info,
            format!(
                "product coupon {} already has {MAX_EFFECTIVE_STOCKS} effective stocks",
                pc.product_coupon_id
            ),
            Some(trouble::OUT_OF_RANGE),
        ));
    }
    let id = stock::new_id(ctx.db, &pc.product_coupon_id)?;
    let mut entity = StockEntity::new(
        pc.product_coupon_id.as_str(),
        id.as_str(),
        s.coupon_code_mode,
        s.stock_send_rule,
        s.usage_rule_display_info,
        s.coupon_display_info,
        s.notify_config,
        s.store_scope,
        StockSentCountInfo::new(),
        StockState::Sending,
    );
    entity.remark = s.remark;
    entity.single_usage_rule = s.single_usage_rule;
    stock::insert(ctx.db, &entity, None)?;
    let stored =
        stock::load(ctx.db, &id, ctx.now)?.ok_or_else(|| Rejection::internal("stock vanished"))?;
    stock::render(ctx.db, &stored)
}

/// Marks a stock DEACTIVATED with the request's number and reason.
pub(super) fn deactivate(
    ctx: &Ctx<'_>,
    mut s: Stock,
    request_no: &str,
    reason: &str,
) -> Result<Stock, Rejection> {
    s.entity.deactivate_request_no = Some(request_no.to_owned());
    s.entity.deactivate_time = Some(datetime(ctx.now).to_string());
    s.entity.deactivate_reason = Some(reason.to_owned());
    stock::update_body(ctx.db, &s)?;
    stock::set_state(ctx.db, &s.id, &StockState::Deactivated)?;
    s.state = StockState::Deactivated.as_wire().to_owned();
    Ok(s)
}

/// Fails unless the stock is in one of `allowed` states.
pub(super) fn require_state(
    ctx: &Ctx<'_>,
    s: &Stock,
    allowed: &[StockState],
) -> Result<(), Rejection> {
    if allowed.iter().any(|a| a.as_wire() == s.state) {
        return Ok(());
    }
    let need: Vec<&str> = allowed.iter().map(WireEnum::as_wire).collect();
    Err(answers::stock_state(
        ctx.info,
        &s.id,
        &s.state,
        &need.join(" or "),
    ))
}

impl Operation for CreateStock {
    fn run(ctx: &mut Ctx<'_>, r: CreateStockRequest) -> Result<StockEntity, Rejection> {
        let pc = product_coupon::require_effective(ctx, &r.product_coupon_id)?;
        create_in(ctx, &pc, r.stock)
    }
}

impl Operation for GetStock {
    fn run(ctx: &mut Ctx<'_>, r: GetStockRequest) -> Result<StockEntity, Rejection> {
        let s = stock::require(ctx, &r.product_coupon_id, &r.stock_id)?;
        stock::render(ctx.db, &s)
    }
}

impl Operation for ListStocks {
    fn run(ctx: &mut Ctx<'_>, r: ListStocksRequest) -> Result<ListStocksResponse, Rejection> {
        product_coupon::require(ctx, &r.product_coupon_id)?;
        let page = Page::from_request(ctx.info, r.page_size, r.page_token.as_deref())?;
        let state = r.state.as_ref().map(|s| s.as_wire().to_owned());
        let filter = format!(
            "product_coupon_id = ?4 AND (?5 IS NULL OR {STATE_SQL} = ?5) \
             AND (?6 IS NULL OR bundle_id = ?6)"
        );
        let all = stock::select(
            ctx.db,
            ctx.now,
            &filter,
            &[&r.product_coupon_id, &state, &r.stock_bundle_id],
        )?;
        let mut reply = ListStocksResponse::new().total_count(all.len() as i64);
        let rest: Vec<&Stock> = all.iter().filter(|s| s.seq > page.after).collect();
        let mut list = Vec::new();
        for s in rest.iter().take(page.size as usize) {
            list.push(stock::render(ctx.db, s)?);
        }
        reply.next_page_token = Page::next_token(
            rest.get(list.len().saturating_sub(1)).map(|s| s.seq),
            rest.len() > list.len(),
        );
        reply.stock_list = Some(list);
        Ok(reply)
    }
}

impl Operation for UpdateStock {
    fn run(ctx: &mut Ctx<'_>, r: UpdateStockRequest) -> Result<StockEntity, Rejection> {
        let mut s = stock::require(ctx, &r.product_coupon_id, &r.stock_id)?;
        require_state(ctx, &s, &[StockState::Sending, StockState::Paused])?;
        let e = &mut s.entity;
        if r.remark.is_some() {
            e.remark = r.remark;
        }
        if let Some(v) = r.usage_rule_display_info {
            e.usage_rule_display_info = v;
        }
        if let Some(v) = r.coupon_display_info {
            e.coupon_display_info = v;
        }
        if let Some(v) = r.notify_config {
            e.notify_config = v;
        }
        if let Some(v) = r.store_scope {
            e.store_scope = v;
        }
        stock::update_body(ctx.db, &s)?;
        stock::render(ctx.db, &s)
    }
}

impl Operation for UpdateStockBudget {
    fn run(ctx: &mut Ctx<'_>, r: UpdateStockBudgetRequest) -> Result<StockEntity, Rejection> {
        let mut s = stock::require(ctx, &r.product_coupon_id, &r.stock_id)?;
        require_state(
            ctx,
            &s,
            &[
                StockState::Sending,
                StockState::Paused,
                StockState::Auditing,
            ],
        )?;
        let change = BudgetChange {
            mode: r.update_mode,
            current_max_count: r.current_max_count,
            target_max_count: r.target_max_count,
            current_max_count_per_day: r.current_max_count_per_day,
            target_max_count_per_day: r.target_max_count_per_day,
        };
        change.apply(ctx, &mut s.entity.stock_send_rule, s.sent_total)?;
        stock::update_body(ctx.db, &s)?;
        stock::render(ctx.db, &s)
    }
}

impl Operation for DeactivateStock {
    fn run(ctx: &mut Ctx<'_>, r: DeactivateStockRequest) -> Result<StockEntity, Rejection> {
        let s = stock::require(ctx, &r.product_coupon_id, &r.stock_id)?;
        require_state(
            ctx,
            &s,
            &[
                StockState::Sending,
                StockState::Paused,
                StockState::Auditing,
            ],
        )?;
        let s = deactivate(ctx, s, &r.out_request_no, &r.deactivate_reason)?;
        stock::render(ctx.db, &s)
    }
}
