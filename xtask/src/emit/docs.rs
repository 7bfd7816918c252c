//! Doc comments from schema text.

use proc_macro2::TokenStream;
use quote::quote;

/// One `#[doc = "…"]` per line, so rustdoc shows the text as written. Square brackets
/// from the schema's text (`[official sample code]`) are escaped so rustdoc does not take
/// them for links; the generator's own links (`` [`Type`](path) ``) are kept.
pub fn doc(text: &str) -> TokenStream {
    let lines = text.lines().map(|line| {
        let line = format!(" {}", escape_brackets(line.trim_end()));
        quote!(#[doc = #line])
    });
    quote!(#(#lines)*)
}

fn escape_brackets(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    let mut out = String::with_capacity(line.len());
    for (i, &c) in chars.iter().enumerate() {
        let link_open = c == '[' && chars.get(i + 1) == Some(&'`');
        let link_close = c == ']' && i > 0 && chars[i - 1] == '`';
        if (c == '[' && !link_open) || (c == ']' && !link_close) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Escapes text for use inside a Markdown code span.
pub fn code(text: &str) -> String {
    if text.contains('`') {
        format!("`` {text} ``")
    } else {
        format!("`{text}`")
    }
}

/// The one provenance line rustdoc keeps: `【uncertain】 … Decision: …`, only for a fact the
/// schema marks uncertain or records a decision for; `None` otherwise. Where every other
/// fact comes from (pages, limit sources, transcription notes) stays in the schema, in the
/// runtime metadata (`Provenance`, `EndpointInfo::pages`) and in `wechatpay describe`.
pub fn provenance_line(p: &crate::schema::model::Provenance) -> Option<String> {
    let text = wechatpay_runtime::meta::provenance_text(
        None,
        None,
        p.uncertain.as_deref(),
        p.decision.as_deref(),
    );
    (!text.is_empty()).then_some(text)
}

/// `Required; 1 to 32 characters` → the first letter upper-cased (the runtime words rule
/// sentences in lower case, for use mid-sentence).
pub fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
