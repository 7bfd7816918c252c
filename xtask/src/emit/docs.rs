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
    let mut parts = Vec::new();
    if let Some(s) = &p.source {
        parts.push(format!("Source: {s}."));
    }
    if let Some(s) = &p.limit_source {
        parts.push(format!("Limit from: {s}."));
    }
    if let Some(u) = &p.uncertain {
        parts.push(format!("【uncertain】 {u}"));
    }
    if let Some(d) = &p.decision {
        parts.push(format!("Decision: {d}"));
    }
    (!parts.is_empty()).then(|| parts.join(" "))
}
