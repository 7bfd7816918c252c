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
