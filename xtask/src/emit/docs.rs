//! Doc comments from schema text.

use proc_macro2::TokenStream;
use quote::quote;

/// One `#[doc = "…"]` per line, so rustdoc shows the text as written.
pub fn doc(text: &str) -> TokenStream {
    let lines = text.lines().map(|line| {
        let line = format!(" {}", line.trim_end());
        quote!(#[doc = #line])
    });
    quote!(#(#lines)*)
}

/// Escapes text for use inside a Markdown code span.
pub fn code(text: &str) -> String {
    if text.contains('`') {
        format!("`` {text} ``")
    } else {
        format!("`{text}`")
    }
}

/// `Source: partner 4015781605. Limit from: guide. 【uncertain】 …. Decision: …` —
/// how a reader tells an official fact from a weaker one; `None` for the page's own facts.
pub fn provenance_line(p: &crate::schema::model::Provenance) -> Option<String> {
    let text = wechatpay_runtime::meta::provenance_text(
        p.source.as_deref(),
        p.limit_source.as_deref(),
        p.uncertain.as_deref(),
        p.decision.as_deref(),
    );
    (!text.is_empty()).then_some(text)
}
