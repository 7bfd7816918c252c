//! Matching request paths to the schema's path templates (`/users/{openid}/coupons`).

use wechatpay_transport::EndpointInfo;

/// The operation whose template matches `path` (no query), with its decoded path parameters.
pub fn match_path(path: &str) -> Option<(&'static EndpointInfo, Vec<(String, String)>)> {
    wechatpay_endpoints::ALL
        .iter()
        .find_map(|info| match_template(info.path_template, path).map(|params| (*info, params)))
}

/// Matches one template segment by segment; `{name}` matches one non-empty segment.
pub fn match_template(template: &str, path: &str) -> Option<Vec<(String, String)>> {
    let mut want = template.split('/');
    let mut got = path.split('/');
    let mut params = Vec::new();
    loop {
        match (want.next(), got.next()) {
            (None, None) => return Some(params),
            (Some(w), Some(g)) => {
                if let Some(name) = w.strip_prefix('{').and_then(|w| w.strip_suffix('}')) {
                    if g.is_empty() {
                        return None;
                    }
                    params.push((name.to_owned(), percent_decode(g)?));
                } else if w != g {
                    return None;
                }
            }
            _ => return None,
        }
    }
}

/// Decodes `%XX` escapes; `None` for a bad escape or a result that is not UTF-8.
pub fn percent_decode(value: &str) -> Option<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = value.get(i + 1..i + 3)?;
            // from_str_radix alone would take a sign ("%+5").
            if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_templates_and_decodes_parameters() {
        let (info, params) =
            match_path("/brand/marketing/product-coupon/users/o%2F1/coupons").unwrap();
        assert_eq!(info.operation_id, "send-user-product-coupon");
        assert_eq!(params, [("openid".to_owned(), "o/1".to_owned())]);
        let (info, params) = match_path("/v3/marketing/busifavor/product-coupons/send").unwrap();
        assert_eq!(info.operation_id, "send-product-coupon");
        assert!(params.is_empty());
        assert!(match_path("/brand/marketing/product-coupon/users//coupons").is_none());
        assert!(match_path("/v3/marketing/busifavor/product-coupons/send/x").is_none());
        assert_eq!(percent_decode("%E5%88%B8"), Some("券".to_owned()));
        assert_eq!(percent_decode("%zz"), None);
        assert_eq!(percent_decode("%+5"), None);
    }
}
