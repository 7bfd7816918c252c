//! Paging over the creation order: `page_token` is the opaque position after
//! the last item of the previous page, `next_page_token` is present only
//! when more items follow. Page sizes default to `DEFAULT_PAGE_SIZE`; the
//! maximum is the page-size field's own rule in the schema, and a list whose
//! page gives none takes at most `MAX_PAGE_SIZE` (larger sizes are the
//! common "page size out of range" PARAM_ERROR).

use base64::engine::general_purpose::URL_SAFE_NO_PAD as TOKEN;
use base64::Engine as _;
use wechatpay_runtime::{EndpointInfo, Ty};

use crate::replies::Rejection;

/// The page size when the request gives none (the sibling lists' documented default).
pub const DEFAULT_PAGE_SIZE: i64 = 20;
/// The largest page of a list whose page publishes no maximum.
pub const MAX_PAGE_SIZE: i64 = 50;

/// One page request: items after `after`, at most `size` of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub after: i64,
    pub size: i64,
}

impl Page {
    /// Reads the page size and token of a list operation (fields named by its pagination metadata).
    pub fn from_request(
        info: &EndpointInfo,
        size: Option<i64>,
        token: Option<&str>,
    ) -> Result<Page, Rejection> {
        let (size_field, token_field) = info
            .pagination
            .map_or(("page_size", "page_token"), |p| (p.page_size, p.page_token));
        let max = match info.request.field(size_field).map(|f| f.ty) {
            Some(Ty::Integer(rule)) => rule.max.unwrap_or(MAX_PAGE_SIZE),
            _ => MAX_PAGE_SIZE,
        };
        let size = size.unwrap_or(DEFAULT_PAGE_SIZE);
        if !(1..=max).contains(&size) {
            return Err(Rejection::param(
                size_field,
                "query",
                format!("page size {size} is out of range (分页大小超出限制)"),
            ));
        }
        let after = match token.filter(|t| !t.is_empty()) {
            None => 0,
            Some(t) => decode(t).ok_or_else(|| {
                Rejection::param(
                    token_field,
                    "query",
                    "not a next_page_token this sandbox issued",
                )
            })?,
        };
        Ok(Page { after, size })
    }

    /// The token of the page after one that ended at `last`, when `more` items follow.
    pub fn next_token(last: Option<i64>, more: bool) -> Option<String> {
        last.filter(|_| more).map(encode)
    }
}

fn encode(seq: i64) -> String {
    TOKEN.encode(format!("after:{seq}"))
}

fn decode(token: &str) -> Option<i64> {
    let raw = TOKEN.decode(token).ok()?;
    std::str::from_utf8(&raw)
        .ok()?
        .strip_prefix("after:")?
        .parse()
        .ok()
        .filter(|n: &i64| *n >= 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_foreign_ones_are_param_errors() {
        let users = wechatpay_endpoints::find("list-user-product-coupons").unwrap();
        let stores = wechatpay_endpoints::find("list-associated-stores").unwrap();
        let token = Page::next_token(Some(42), true).unwrap();
        assert_eq!(
            Page::from_request(users, Some(5), Some(&token)).unwrap(),
            Page { after: 42, size: 5 }
        );
        assert_eq!(Page::next_token(Some(42), false), None);
        assert_eq!(
            Page::from_request(users, None, None).unwrap().size,
            DEFAULT_PAGE_SIZE
        );
        let bad = Page::from_request(users, None, Some("MTIzNDUK")).unwrap_err();
        assert_eq!(bad.detail["field"], "page_token");
        assert_eq!(
            Page::from_request(users, Some(0), None).unwrap_err().code,
            "PARAM_ERROR"
        );
        // The user-coupon list documents its own maximum (50, partner page 4016435703).
        assert!(Page::from_request(users, Some(50), None).is_ok());
        assert!(Page::from_request(users, Some(51), None).is_err());
        // The stores list documents its own maximum (200).
        assert!(Page::from_request(stores, Some(200), None).is_ok());
    }
}
