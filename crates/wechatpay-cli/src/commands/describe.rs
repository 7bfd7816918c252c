//! `wechatpay describe [OPERATION-ID]`: the schema facts of an operation.

use std::fmt::Write as _;

use wechatpay_runtime::validation::items_text;
use wechatpay_runtime::{EndpointInfo, FieldInfo, Ty, TypeInfo};

use crate::exit::CliError;

/// Looks an operation up, or says which ids exist, the nearest first.
pub fn find_operation(id: &str) -> Result<&'static EndpointInfo, CliError> {
    wechatpay_endpoints::find(id).ok_or_else(|| {
        let known: Vec<&str> = wechatpay_endpoints::ALL
            .iter()
            .map(|i| i.operation_id)
            .collect();
        let nearest = nearest(id, &known);
        let hint = if nearest.is_empty() {
            String::new()
        } else {
            format!("; did you mean {}?", nearest.join(" or "))
        };
        // With 69 operations the whole list would drown the message: the nearest ids,
        // then where the list is.
        CliError::validation(format!(
            "unknown operation id {:?}{hint}{} `wechatpay describe` lists the {} operations",
            crate::exit::bounded(id, 64),
            if hint.is_empty() { ";" } else { "" },
            known.len()
        ))
    })
}

/// The ids closest to `typed`, closest first (at most three): the same id but
/// for case and `_`/space for `-` first, then by edit distance, within a
/// distance of a third of the id's length (at least 2). A typed id longer than
/// any id by far gets no suggestion.
fn nearest<'a>(typed: &str, known: &[&'a str]) -> Vec<&'a str> {
    if typed.len() > 100 {
        return Vec::new();
    }
    let typed: String = typed
        .trim()
        .chars()
        .map(|c| match c {
            '_' | ' ' => '-',
            c => c.to_ascii_lowercase(),
        })
        .collect();
    let limit = (typed.chars().count() / 3).max(2);
    let mut scored: Vec<(usize, &str)> = known
        .iter()
        .map(|&id| (edit_distance(&typed, id), id))
        .filter(|&(d, _)| d <= limit)
        .collect();
    scored.sort();
    scored.into_iter().take(3).map(|(_, id)| id).collect()
}

/// Levenshtein distance over characters (a two-row table; ids are short).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        current[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitute.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

/// The operations grouped by who calls them (`brand`, `merchant`: the modules of
/// `wechatpay_endpoints`), each with the scheme it signs with, then one line per
/// operation: id, doc title, method and path.
pub fn operation_list() -> String {
    let width = wechatpay_endpoints::ALL
        .iter()
        .map(|i| i.operation_id.len())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for (caller, operations) in wechatpay_endpoints::CALLERS {
        let scheme = operations
            .first()
            .map(|info| format!(", signed {}", info.auth.scheme()))
            .unwrap_or_default();
        let count = match operations.len() {
            1 => "1 operation".to_owned(),
            n => format!("{n} operations"),
        };
        let _ = writeln!(out, "  {caller} ({count}{scheme}):");
        for info in *operations {
            let _ = writeln!(
                out,
                "    {:width$}  {} ({} {})",
                info.operation_id,
                info.title,
                info.method.as_str(),
                info.path
            );
        }
    }
    out
}

/// The operations a campaign can send (those with a request number), with
/// their request-number field and documented rate.
pub fn campaign_operation_list() -> String {
    let with_number = || {
        wechatpay_endpoints::ALL
            .iter()
            .filter_map(|i| i.request_number.map(|n| (i, n)))
    };
    let width = with_number()
        .map(|(i, _)| i.operation_id.len())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for (info, number) in with_number() {
        let rate = info
            .rate_per_second
            .map_or("no documented limit".to_owned(), |r| format!("{r}/s"));
        let _ = writeln!(
            out,
            "  {:width$}  {} ({rate})",
            info.operation_id, number.field
        );
    }
    out
}

/// Runs the command, returning the text for stdout.
pub fn run(operation: Option<&str>) -> Result<String, CliError> {
    match operation {
        None => Ok(format!("Operations:\n{}", operation_list())),
        Some(id) => Ok(describe(find_operation(id)?)),
    }
}

/// The full description of one operation.
pub fn describe(info: &EndpointInfo) -> String {
    let mut out = String::new();
    let updated = info
        .doc_updated
        .map(|d| format!(" (doc page updated {d})"))
        .unwrap_or_default();
    let _ = writeln!(out, "{} — {}{updated}", info.operation_id, info.title);
    let _ = writeln!(out);
    let _ = writeln!(out, "  {} {}", info.method.as_str(), info.path);
    let auth = info.auth.family();
    let _ = writeln!(
        out,
        "  auth:           {auth}: {} {}=\"…\"",
        info.auth.scheme(),
        info.auth.identity_param()
    );
    if let Some(field) = info.brand_field {
        let _ = writeln!(out, "  acts for:       the brand named by {field}");
    }
    if let Some(twin) = info.twin_of {
        let _ = writeln!(
            out,
            "  twin of:        {twin} (the same operation for the brand itself)"
        );
    }
    let _ = writeln!(out, "  request:        {}", info.request.name);
    let _ = writeln!(out, "  response:       {}", info.response.name);
    let _ = writeln!(
        out,
        "  rate limit:     {}{}",
        info.rate_limit.unwrap_or("not documented"),
        info.rate_limit_source
            .map(|s| format!(" (source: {s})"))
            .unwrap_or_default()
    );
    if let Some(number) = info.request_number {
        let scope = if number.unique_within.is_empty() {
            String::new()
        } else {
            format!(", unique per {}", number.unique_within.join(" + "))
        };
        let _ = writeln!(
            out,
            "  request number: {}{scope} (retry with the same value: idempotent)",
            number.field
        );
    }
    if let Some(p) = info.pagination {
        let _ = writeln!(
            out,
            "  pagination:     {} + {} → {} (items in {})",
            p.page_size, p.page_token, p.next_page_token, p.items
        );
    }
    if !info.pages.is_empty() {
        let _ = writeln!(
            out,
            "  sources:        {} ({})",
            info.pages.join(", "),
            match info.complete {
                Some(true) => "complete",
                Some(false) => "partial: some facts are unknown",
                None => "completeness not assessed",
            }
        );
    }
    for (i, note) in info.notes.iter().enumerate() {
        let label = if i == 0 { "notes:" } else { "" };
        let _ = writeln!(out, "  {label:<15} {note}");
    }
    let _ = writeln!(
        out,
        "\nHeaders (besides Authorization, Accept, Content-Type):"
    );
    if info.headers.is_empty() {
        let _ = writeln!(out, "  none");
    }
    for header in info.headers {
        let need = if header.required {
            "required"
        } else {
            "optional"
        };
        let _ = writeln!(out, "  {} ({need})", header.name);
        let _ = writeln!(out, "      {}", header.description);
    }
    let _ = writeln!(out, "\nFields:");
    fields(&mut out, info.request, "", 0, info.pages.first().copied());
    let _ = writeln!(out, "\nErrors:");
    for row in info.errors {
        let _ = writeln!(
            out,
            "  {} {} [{}]{}: {} — {}",
            row.status,
            row.code,
            row.scope.as_str(),
            if row.retryable() { " (retryable)" } else { "" },
            row.description,
            row.solution
        );
    }
    out
}

/// The fields of `ty` and of the objects under it, with dotted paths. A fact without a
/// source of its own comes from its type's source, else from `page` (the operation's).
fn fields(out: &mut String, ty: &TypeInfo, prefix: &str, depth: usize, page: Option<&'static str>) {
    let default_source = ty.provenance.source.or(page);
    for field in ty.fields {
        let path = if prefix.is_empty() {
            field.name.to_owned()
        } else {
            format!("{prefix}.{}", field.name)
        };
        let _ = writeln!(
            out,
            "  {path} ({}, {}): {}",
            field.location.as_str(),
            field.ty.schema_name(),
            rules(ty, field).join(", ")
        );
        let title = field.title.map(|t| format!("【{t}】 ")).unwrap_or_default();
        let _ = writeln!(out, "      {title}{}", field.description);
        let provenance = field.provenance.or_source(default_source).summary();
        if !provenance.is_empty() {
            let _ = writeln!(out, "      ({provenance})");
        }
        let mut inner = &field.ty;
        let mut nested = path.clone();
        while let Ty::Array { item, .. } = inner {
            inner = item;
            nested.push_str("[]");
        }
        if let Ty::Object(child) = inner {
            if depth < 8 {
                fields(out, child, &nested, depth + 1, default_source);
            }
        }
    }
}

/// The rules of one field, as `describe` lists them (the runtime words each one).
fn rules(ty: &TypeInfo, field: &FieldInfo) -> Vec<String> {
    let mut rules = vec![if field.required {
        "required"
    } else {
        "optional"
    }
    .to_owned()];
    let mut value_ty = &field.ty;
    loop {
        match value_ty {
            Ty::Array {
                item,
                min_items,
                max_items,
            } => {
                rules.extend(items_text(*min_items, *max_items));
                value_ty = item;
            }
            Ty::String(rule) => {
                rules.extend(rule.length_text());
                if let Some(charset) = rule.charset {
                    rules.push(format!("charset [{}]", charset.class));
                }
                break;
            }
            Ty::Integer(rule) => {
                rules.extend(rule.range_text());
                break;
            }
            Ty::Enum { values, .. } => {
                rules.push(format!("values: {}", values.join(" | ")));
                break;
            }
            _ => break,
        }
    }
    rules.extend(ty.rules.iter().filter_map(|rule| rule.text_for(field.name)));
    rules
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_operation_list_is_grouped_by_caller() {
        let list = operation_list();
        let brand = list.find("  brand (33 operations, signed WECHATPAY-BRAND-SHA256-RSA2048):\n");
        let merchant = list.find("  merchant (1 operation, signed WECHATPAY2-SHA256-RSA2048):\n");
        let partner = list.find("  partner (35 operations, signed WECHATPAY2-SHA256-RSA2048):\n");
        let (brand, merchant) = (brand.expect(&list), merchant.expect(&list));
        assert!(
            brand < merchant && merchant < partner.expect(&list),
            "{list}"
        );
        let send = list.find("    send-product-coupon ").expect(&list);
        let send_user = list.find("    send-user-product-coupon ").expect(&list);
        assert!(merchant < send && send_user < merchant, "{list}");
        assert_eq!(list.lines().count(), wechatpay_endpoints::ALL.len() + 3);
    }

    #[test]
    fn a_mistyped_id_is_answered_with_the_nearest_ids_first() {
        let known: Vec<&str> = wechatpay_endpoints::ALL
            .iter()
            .map(|i| i.operation_id)
            .collect();
        assert_eq!(nearest("get-stok", &known)[0], "get-stock");
        assert_eq!(nearest("GET-STOCK", &known), ["get-stock"]);
        assert_eq!(nearest("get_stock", &known), ["get-stock"]);
        assert_eq!(
            nearest("Send_User_Product_Coupon", &known)[0],
            "send-user-product-coupon"
        );
        assert!(nearest("zzzzzzzz", &known).is_empty());
        assert!(nearest(&"x".repeat(100_000), &known).is_empty());
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        let message = find_operation("get_stok").unwrap_err().to_string();
        let suggestion = message.find("did you mean get-stock").expect(&message);
        assert!(
            suggestion < message.find("`wechatpay describe` lists").unwrap(),
            "{message}"
        );
    }

    #[test]
    fn describes_limits_enums_headers_and_errors() {
        let text = run(Some("send-user-product-coupon")).unwrap();
        for needle in [
            "POST /brand/marketing/product-coupon/users/{openid}/coupons",
            "WECHATPAY-BRAND-SHA256-RSA2048 brand_id=",
            "rate limit:     500/s",
            "Wechatpay-Serial (required)",
            "send_request_no (body, string): required, 6–128 characters, charset [0-9A-Za-z_-]",
            "values: MEMBER",
            "401 SIGN_ERROR",
            "500 SYSTEM_ERROR [caller] (retryable)",
        ] {
            assert!(text.contains(needle), "{needle:?} not in\n{text}");
        }
        assert!(run(Some("nope"))
            .unwrap_err()
            .message
            .contains("`wechatpay describe` lists the"));
        let long = "x".repeat(100_000);
        let message = run(Some(&long)).unwrap_err().message;
        // The id is cut; where to find the known ids follows it.
        assert!(message.len() < 2_000, "{} bytes", message.len());
        assert!(
            message.contains(&format!("\"{}…\"", "x".repeat(64))),
            "{message}"
        );
    }
}
