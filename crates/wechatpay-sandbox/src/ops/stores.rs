//! Stores associated with a stock (or with every stock of a bundle):
//! associate, disassociate, list.
//!
//! Each distinct store of the request succeeds or fails on its own (the
//! reply lists both). Associating an associated store succeeds again; a
//! store that is not associated cannot be disassociated (failed, with
//! RESOURCE_NOT_EXISTS).

use std::collections::BTreeSet;

use rusqlite::params;
use wechatpay_endpoints::brand::{
    AssociateStores, AssociateStoresForStockBundle, DisassociateStores,
    DisassociateStoresForStockBundle, ListAssociatedStores,
};
use wechatpay_models::{
    AssociateStoresForStockBundleRequest, AssociateStoresRequest, AssociateStoresResponse,
    DisassociateStoresForStockBundleRequest, DisassociateStoresRequest, DisassociateStoresResponse,
    FailedStoreInfo, ListAssociatedStoresRequest, ListAssociatedStoresResponse, StoreInfo,
};

use super::{Ctx, Operation};
use crate::model::paging::Page;
use crate::model::stock;
use crate::replies::Rejection;
use crate::sql;

/// The outcome for each distinct store: (successes, failures, distinct count).
type Outcome = (Vec<StoreInfo>, Vec<FailedStoreInfo>, i64);

fn distinct(list: &[StoreInfo]) -> Vec<&str> {
    let mut seen = BTreeSet::new();
    list.iter()
        .map(|s| s.store_id.as_str())
        .filter(|id| seen.insert(*id))
        .collect()
}

fn associate(ctx: &Ctx<'_>, stocks: &[String], list: &[StoreInfo]) -> Result<Outcome, Rejection> {
    let stores = distinct(list);
    for store_id in &stores {
        for stock_id in stocks {
            let seq = sql::next_seq(ctx.db)?;
            sql::exec(
                ctx.db,
                "INSERT OR IGNORE INTO stores (stock_id, store_id, seq) VALUES (?1, ?2, ?3)",
                params![stock_id, store_id, seq],
            )?;
        }
    }
    let ok = stores.iter().map(|s| StoreInfo::new(*s)).collect();
    Ok((ok, Vec::new(), stores.len() as i64))
}

fn disassociate(
    ctx: &Ctx<'_>,
    stocks: &[String],
    list: &[StoreInfo],
) -> Result<Outcome, Rejection> {
    let stores = distinct(list);
    let (mut ok, mut failed) = (Vec::new(), Vec::new());
    for store_id in &stores {
        let mut removed = 0;
        for stock_id in stocks {
            removed += sql::exec(
                ctx.db,
                "DELETE FROM stores WHERE stock_id = ?1 AND store_id = ?2",
                params![stock_id, store_id],
            )?;
        }
        if removed > 0 {
            ok.push(StoreInfo::new(*store_id));
        } else {
            failed.push(FailedStoreInfo::new(
                *store_id,
                "RESOURCE_NOT_EXISTS",
                format!("store {store_id} is not associated"),
            ));
        }
    }
    Ok((ok, failed, stores.len() as i64))
}

fn associate_reply((ok, failed, total): Outcome) -> AssociateStoresResponse {
    let mut r = AssociateStoresResponse::new().total_count(total);
    r.success_store_list = Some(ok).filter(|v| !v.is_empty());
    r.failed_store_list = Some(failed).filter(|v| !v.is_empty());
    r
}

fn disassociate_reply((ok, failed, total): Outcome) -> DisassociateStoresResponse {
    let mut r = DisassociateStoresResponse::new().total_count(total);
    r.success_store_list = Some(ok).filter(|v| !v.is_empty());
    r.failed_store_list = Some(failed).filter(|v| !v.is_empty());
    r
}

fn one_stock(
    ctx: &Ctx<'_>,
    product_coupon_id: &str,
    stock_id: &str,
) -> Result<Vec<String>, Rejection> {
    Ok(vec![stock::require(ctx, product_coupon_id, stock_id)?.id])
}

fn bundle_stocks(
    ctx: &Ctx<'_>,
    product_coupon_id: &str,
    bundle_id: &str,
) -> Result<Vec<String>, Rejection> {
    Ok(stock::require_bundle(ctx, product_coupon_id, bundle_id)?
        .into_iter()
        .map(|s| s.id)
        .collect())
}

impl Operation for AssociateStores {
    fn run(
        ctx: &mut Ctx<'_>,
        r: AssociateStoresRequest,
    ) -> Result<AssociateStoresResponse, Rejection> {
        let stocks = one_stock(ctx, &r.product_coupon_id, &r.stock_id)?;
        associate(ctx, &stocks, &r.store_list).map(associate_reply)
    }
}

impl Operation for AssociateStoresForStockBundle {
    fn run(
        ctx: &mut Ctx<'_>,
        r: AssociateStoresForStockBundleRequest,
    ) -> Result<AssociateStoresResponse, Rejection> {
        let stocks = bundle_stocks(ctx, &r.product_coupon_id, &r.stock_bundle_id)?;
        associate(ctx, &stocks, &r.store_list).map(associate_reply)
    }
}

impl Operation for DisassociateStores {
    fn run(
        ctx: &mut Ctx<'_>,
        r: DisassociateStoresRequest,
    ) -> Result<DisassociateStoresResponse, Rejection> {
        let stocks = one_stock(ctx, &r.product_coupon_id, &r.stock_id)?;
        disassociate(ctx, &stocks, &r.store_list).map(disassociate_reply)
    }
}

impl Operation for DisassociateStoresForStockBundle {
    fn run(
        ctx: &mut Ctx<'_>,
        r: DisassociateStoresForStockBundleRequest,
    ) -> Result<DisassociateStoresResponse, Rejection> {
        let stocks = bundle_stocks(ctx, &r.product_coupon_id, &r.stock_bundle_id)?;
        disassociate(ctx, &stocks, &r.store_list).map(disassociate_reply)
    }
}

impl Operation for ListAssociatedStores {
    fn run(
        ctx: &mut Ctx<'_>,
        r: ListAssociatedStoresRequest,
    ) -> Result<ListAssociatedStoresResponse, Rejection> {
        let stock_id = stock::require(ctx, &r.product_coupon_id, &r.stock_id)?.id;
        let page = Page::from_request(ctx.info, r.page_size, r.page_token.as_deref())?;
        let total: i64 = sql::row(
            ctx.db,
            "SELECT COUNT(*) FROM stores WHERE stock_id = ?1",
            [&stock_id],
            |row| row.get(0),
        )?;
        let mut stmt = ctx.db.prepare_cached(
            "SELECT store_id, seq FROM stores WHERE stock_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
        )?;
        let rows: Vec<(String, i64)> = stmt
            .query_map(params![stock_id, page.after, page.size + 1], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })?
            .collect::<Result<_, _>>()?;
        let more = rows.len() as i64 > page.size;
        let shown: Vec<&(String, i64)> = rows.iter().take(page.size as usize).collect();
        let mut reply = ListAssociatedStoresResponse::new().total_count(total);
        reply.next_page_token = Page::next_token(shown.last().map(|r| r.1), more);
        reply.store_list = Some(shown.iter().map(|r| StoreInfo::new(r.0.as_str())).collect());
        Ok(reply)
    }
}
