//! `wechatpay call <list operation> --all`: every page, one JSON line per item.
//!
//! Which fields page an operation comes from the schema
//! (`EndpointInfo::pagination`: the page-token query field, the reply's
//! next-page token and its item list), so this module names no operation.
//! Each page is checked, signed, verified and decoded exactly like a single
//! `call`; its items are printed as soon as it decoded, so a failure on page
//! five leaves the first four pages' items printed.

use std::collections::HashSet;

use serde_json::Value;
use wechatpay_runtime::json::Prepared;
use wechatpay_runtime::{EndpointInfo, Pagination};
use wechatpay_transport::Client;

use crate::commands::call;
use crate::exit::{CliError, ExitClass};
use crate::operation::prepare;

/// What following the pages produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Followed {
    /// Pages requested and decoded.
    pub pages: u64,
    /// Items printed.
    pub items: u64,
}

/// The operation's pagination, or a usage error naming the list operations.
pub fn pagination(info: &EndpointInfo) -> Result<Pagination, CliError> {
    info.pagination.ok_or_else(|| {
        let lists: Vec<&str> = wechatpay_endpoints::ALL
            .iter()
            .filter(|op| op.pagination.is_some())
            .map(|op| op.operation_id)
            .collect();
        CliError::new(
            ExitClass::Usage,
            format!(
                "{} returns no pages: --all follows next_page_token of a list operation ({}); nothing was sent",
                info.operation_id,
                lists.join(", ")
            ),
        )
    })
}

/// Sends `first` (built from `body`), prints each item of its reply with
/// `print`, and goes on with the reply's next-page token until a reply has none.
/// A token the server already gave is an error (it would loop forever).
pub async fn follow(
    client: &Client,
    first: Prepared,
    mut body: Value,
    mut print: impl FnMut(&[u8]) -> std::io::Result<()>,
) -> Result<Followed, CliError> {
    let info = first.info;
    let fields = pagination(info)?;
    let mut followed = Followed { pages: 0, items: 0 };
    let mut tokens = HashSet::new();
    let mut next = first;
    loop {
        let reply = call::send(client, next, None).await?;
        let page = call::decode(info, &reply)?;
        followed.pages += 1;
        for item in items(&page, &fields, info)? {
            let line = serde_json::to_vec(item)
                .map_err(|e| CliError::internal(format!("cannot print an item: {e}")))?;
            print(&line).map_err(|e| {
                CliError::new(
                    ExitClass::Output,
                    format!(
                        "{} items printed, then standard output failed ({e}); a list changes nothing: run it again",
                        followed.items
                    ),
                )
            })?;
            followed.items += 1;
        }
        let token = page
            .get(fields.next_page_token)
            .and_then(Value::as_str)
            .filter(|token| !token.is_empty());
        let Some(token) = token else {
            return Ok(followed);
        };
        if !tokens.insert(token.to_owned()) {
            return Err(CliError::new(
                ExitClass::Api,
                format!(
                    "page {} repeated the {} {} of an earlier page; stopped after {} items instead of looping",
                    followed.pages,
                    fields.next_page_token,
                    call::printable(token),
                    followed.items
                ),
            ));
        }
        set_token(&mut body, fields.page_token, token)?;
        next = prepare(info, &body).map_err(|problems| {
            let list: Vec<String> = problems.iter().map(|p| format!("  {p}")).collect();
            CliError::new(
                ExitClass::Api,
                format!(
                    "page {} gave a {} that is not a valid {} of the next request; stopped after {} items:\n{}",
                    followed.pages,
                    fields.next_page_token,
                    fields.page_token,
                    followed.items,
                    list.join("\n")
                ),
            )
        })?;
    }
}

/// The page's items; an absent list is an empty page.
fn items<'a>(
    page: &'a Value,
    fields: &Pagination,
    info: &EndpointInfo,
) -> Result<&'a [Value], CliError> {
    match page.get(fields.items) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(CliError::new(
            ExitClass::Decode,
            format!(
                "the {} reply's {} is not a list",
                info.operation_id, fields.items
            ),
        )),
    }
}

fn set_token(body: &mut Value, field: &str, token: &str) -> Result<(), CliError> {
    match body {
        Value::Object(map) => {
            map.insert(field.to_owned(), Value::String(token.to_owned()));
            Ok(())
        }
        // `prepare` accepted the first request, so the body is an object.
        _ => Err(CliError::internal("the request body is not a JSON object")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_list_operations_page() {
        let list = wechatpay_endpoints::find("list-stocks").unwrap();
        assert_eq!(pagination(list).unwrap().items, "stock_list");
        let send = wechatpay_endpoints::find("send-user-product-coupon").unwrap();
        let error = pagination(send).unwrap_err();
        assert_eq!(error.class, ExitClass::Usage);
        assert!(
            error.message.contains("list-user-product-coupons"),
            "{error}"
        );
    }

    #[test]
    fn the_next_token_replaces_the_previous_one() {
        let mut body = serde_json::json!({"openid": "o1", "page_token": "A"});
        set_token(&mut body, "page_token", "B").unwrap();
        assert_eq!(body["page_token"], "B");
        assert_eq!(body["openid"], "o1");
    }
}
