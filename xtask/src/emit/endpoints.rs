//! Emits `crates/wechatpay-endpoints/src/generated/**`: one file per operation
//! with its `Endpoint` impl and typed error codes, and a root module with the
//! list of operations and `dispatch` (operation id → endpoint type).

use proc_macro2::TokenStream;
use quote::quote;

use super::docs::{code, doc};
use super::{format, ident, GeneratedFile};
use crate::schema::model::*;

const DIR: &str = "crates/wechatpay-endpoints/src/generated";

pub fn emit(schema: &Schema) -> Result<Vec<GeneratedFile>, String> {
    let mut files = Vec::new();
    for ep in &schema.endpoints {
        files.push(GeneratedFile {
            path: format!("{DIR}/{}.rs", ep.module),
            contents: format::render(endpoint(ep, schema), &ep.file)?,
        });
    }
    let decls = schema.endpoints.iter().map(|ep| {
        let (m, t, codes) = (ident(&ep.module), ident(&ep.name), ident(&ep.error_enum));
        quote! { mod #m; pub use #m::{#t, #codes}; }
    });
    let all = schema.endpoints.iter().map(|ep| {
        let t = ident(&ep.name);
        quote!(<#t as rt::Endpoint>::INFO)
    });
    let arms = schema.endpoints.iter().map(|ep| {
        let (id, t) = (&ep.id, ident(&ep.name));
        quote!(#id => Some(visitor.visit::<#t>()),)
    });
    let common = schema.common_errors.iter().map(|row| {
        let name = ident(row.common.as_deref().unwrap_or_default());
        let doc = doc(&format!(
            "{} {}: {}",
            row.status,
            code(&row.code),
            row.description
        ));
        let value = error_doc(row);
        quote!(#doc pub(crate) const #name: rt::ErrorDoc = #value;)
    });
    let root = quote! {
        //! Every operation in the schema, one module each.
        use wechatpay_runtime as rt;

        #(#decls)*

        /// The common error rows (公共错误码) every operation's table includes, once each.
        pub(crate) mod common_errors {
            use wechatpay_runtime as rt;
            #(#common)*
        }

        /// The schema facts of every operation, in schema file order.
        pub static ALL: &[&rt::EndpointInfo] = &[#(#all),*];

        /// Runs `visitor` with the endpoint type of `operation_id`; `None` for an unknown id.
        /// Tools that take an operation id at run time (the CLI, the sandbox) reach the typed
        /// request and response through this.
        pub fn dispatch<V: rt::EndpointVisitor>(operation_id: &str, visitor: V) -> Option<V::Output> {
            match operation_id {
                #(#arms)*
                _ => None,
            }
        }
    };
    files.push(GeneratedFile {
        path: format!("{DIR}/mod.rs"),
        contents: format::render(root, "schema/")?,
    });
    Ok(files)
}

fn error_doc(row: &ErrorRow) -> TokenStream {
    let status = proc_macro2::Literal::u16_unsuffixed(row.status);
    let (c, d, s) = (&row.code, &row.description, &row.solution);
    let scope = match row.scope {
        ErrorScope::Request => quote!(rt::ErrorScope::Request),
        ErrorScope::Caller => quote!(rt::ErrorScope::Caller),
    };
    quote!(rt::ErrorDoc { status: #status, code: #c, description: #d, solution: #s, scope: #scope })
}

fn opt_str(value: &Option<String>) -> TokenStream {
    match value {
        Some(v) => quote!(Some(#v)),
        None => quote!(None),
    }
}

fn examples(list: &[Example]) -> TokenStream {
    let items = list.iter().map(|ex| {
        let (name, body, source) = (&ex.name, ex.body.trim_end(), opt_str(&ex.source));
        let path = ex.path.iter().map(|(k, v)| quote!((#k, #v)));
        let query = ex.query.iter().map(|(k, v)| quote!((#k, #v)));
        quote!(rt::Example { name: #name, path_params: &[#(#path),*], query_params: &[#(#query),*], body: #body, source: #source })
    });
    quote!(&[#(#items),*])
}

fn path_fn(ep: &Endpoint) -> TokenStream {
    if ep.path_params.is_empty() {
        return quote! {
            fn path(_request: &Self::Request) -> String {
                Self::INFO.path.as_str().to_owned()
            }
        };
    }
    let values = ep.path_params.iter().map(|(_, field)| {
        let f = ident(field);
        quote!(&request.#f)
    });
    quote! {
        fn path(request: &Self::Request) -> String {
            Self::INFO.path.render(&[#(#values),*])
        }
    }
}

/// The query string in field order (only the fields that are set).
fn query_fn(ep: &Endpoint, schema: &Schema) -> TokenStream {
    let Some(TypeDef::Object(request)) = schema.types.get(&ep.request) else {
        return quote!();
    };
    let pushes: Vec<TokenStream> = request
        .fields
        .iter()
        .filter(|f| f.location == Location::Query)
        .map(|f| {
            let (name, field) = (&f.name, ident(&f.ident));
            if f.required {
                quote!(query.push(#name, &request.#field);)
            } else {
                quote!(query.push_opt(#name, request.#field.as_ref());)
            }
        })
        .collect();
    if pushes.is_empty() {
        return quote!();
    }
    quote! {
        fn query(request: &Self::Request) -> Option<String> {
            let mut query = rt::QueryString::new();
            #(#pushes)*
            query.finish()
        }
    }
}

/// `impl Paginated`: how a list operation's pages chain, for the transport's page stream.
fn paginated_impl(ep: &Endpoint, schema: &Schema) -> TokenStream {
    let Some(p) = &ep.pagination else {
        return quote!();
    };
    let object = |name: &str| match schema.types.get(name) {
        Some(TypeDef::Object(o)) => Some(o),
        _ => None,
    };
    let (Some(request), Some(response)) = (object(&ep.request), object(&ep.response)) else {
        return quote!();
    };
    let field = |o: &ObjectType, wire: &str| o.fields.iter().find(|f| f.name == wire).cloned();
    let (Some(token), Some(next), Some(items)) = (
        field(request, &p.page_token),
        field(response, &p.next_page_token),
        field(response, &p.items),
    ) else {
        return quote!();
    };
    let (name, req, resp, item) = (
        ident(&ep.name),
        ident(&ep.request),
        ident(&ep.response),
        ident(&p.item_type),
    );
    let (token, next_field, items_field) =
        (ident(&token.ident), ident(&next.ident), ident(&items.ident));
    let next_value = if next.required {
        quote!(Some(response.#next_field.as_str()))
    } else {
        quote!(response.#next_field.as_deref())
    };
    let items_value = if items.required {
        quote!(response.#items_field)
    } else {
        quote!(response.#items_field.unwrap_or_default())
    };
    quote! {
        impl rt::Paginated for #name {
            type Item = wechatpay_models::#item;

            fn set_page_token(request: &mut #req, token: Option<String>) {
                request.#token = token;
            }

            fn next_page_token(response: &#resp) -> Option<&str> {
                #next_value.filter(|token| !token.is_empty())
            }

            fn items(response: #resp) -> Vec<wechatpay_models::#item> {
                #items_value
            }
        }
    }
}

fn endpoint(ep: &Endpoint, schema: &Schema) -> TokenStream {
    let name = ident(&ep.name);
    let codes_name = ident(&ep.error_enum);
    let request = ident(&ep.request);
    let response = ident(&ep.response);
    let (id, title, path_template) = (&ep.id, &ep.source.title, &ep.path);
    let updated = opt_str(&ep.source.updated);
    let pages = &ep.source.pages;
    let (complete, completeness) = match ep.source.completeness.as_deref() {
        Some("full") => (quote!(Some(true)), "complete"),
        Some(_) => (quote!(Some(false)), "partial: some facts are unknown"),
        None => (quote!(None), "completeness not assessed"),
    };
    let method = ident(match ep.method {
        Method::Get => "Get",
        Method::Post => "Post",
        Method::Put => "Put",
        Method::Patch => "Patch",
        Method::Delete => "Delete",
    });
    let (auth, auth_text) = match ep.auth {
        Auth::Merchant => (
            quote!(rt::AuthScheme::Merchant),
            "merchant, `WECHATPAY2-SHA256-RSA2048`",
        ),
        Auth::Brand => (
            quote!(rt::AuthScheme::Brand),
            "brand, `WECHATPAY-BRAND-SHA256-RSA2048`",
        ),
    };
    let body = match ep.body {
        BodyKind::Json => quote!(rt::BodyKind::Json),
        BodyKind::None => quote!(rt::BodyKind::None),
        BodyKind::Multipart => quote!(rt::BodyKind::Multipart),
    };
    let headers = ep.headers.iter().map(|h| {
        let (n, r, d) = (&h.name, h.required, &h.description);
        quote!(rt::HeaderInfo { name: #n, required: #r, description: #d })
    });
    let rate_limit_source = opt_str(&ep.rate_limit_source);
    let rate_limit = opt_str(&ep.rate_limit);
    let rate_per_second = match ep.rate_per_second {
        Some(n) => {
            let n = proc_macro2::Literal::u32_unsuffixed(n);
            quote!(Some(#n))
        }
        None => quote!(None),
    };
    let request_number = match &ep.request_number {
        Some(rn) => {
            let (field, scope) = (&rn.field, &rn.unique_within);
            quote!(Some(rt::RequestNumber { field: #field, unique_within: &[#(#scope),*] }))
        }
        None => quote!(None),
    };
    let pagination = match &ep.pagination {
        Some(p) => {
            let (a, b, c, d) = (&p.page_size, &p.page_token, &p.next_page_token, &p.items);
            quote!(Some(rt::Pagination { page_size: #a, page_token: #b, next_page_token: #c, items: #d }))
        }
        None => quote!(None),
    };
    let follow_up = super::follow_up::literal(ep.follow_up.as_ref());
    let request_examples = examples(&ep.request_examples);
    let response_examples = examples(&ep.response_examples);
    let path_fn = path_fn(ep);
    let query_fn = query_fn(ep, schema);
    let paginated = paginated_impl(ep, schema);

    let mut type_doc = format!(
        "{} — `{} {}` ({auth_text}).\n\n{}",
        ep.source.title,
        ep.method.as_str(),
        ep.path,
        ep.source.summary
    );
    if let Some(pre) = &ep.source.preconditions {
        type_doc.push_str(&format!("\n\n前置条件: {pre}"));
    }
    if let Some(limit) = &ep.rate_limit {
        let from = ep
            .rate_limit_source
            .as_deref()
            .map(|s| format!(" (source: {s})"))
            .unwrap_or_default();
        type_doc.push_str(&format!("\n\nRate limit: {limit}{from}."));
    }
    if let Some(rn) = &ep.request_number {
        type_doc.push_str(&format!(
            "\n\nRequest number {}: resend with the same value after any outcome you cannot prove failed.",
            code(&rn.field)
        ));
    }
    if let Some(f) = &ep.follow_up {
        type_doc.push_str(&format!("\n\n{}", super::follow_up::doc_sentence(f)));
    }
    if !ep.source.pages.is_empty() {
        type_doc.push_str(&format!(
            "\n\nSources: {} ({}).",
            ep.source.pages.join(", "),
            completeness
        ));
    }
    for note in &ep.source.notes {
        type_doc.push_str(&format!("\n\nNote: {note}"));
    }
    let updated_text = ep
        .source
        .updated
        .as_deref()
        .map(|u| format!(" (doc page updated {u})"))
        .unwrap_or_default();
    type_doc.push_str(&format!(
        "\n\nOperation id {}; request [`{}`](wechatpay_models::{}), response [`{}`](wechatpay_models::{}); \
         errors [`{}`]. From `{}`{updated_text}.",
        code(id), ep.request, ep.request, ep.response, ep.response, ep.error_enum, ep.file
    ));
    let type_doc = doc(&type_doc);

    // One variant per distinct code, in table order; the rows are data in `TABLE`,
    // shown once in the enum's docs.
    let mut variants: Vec<(&String, &String)> = Vec::new();
    for row in &ep.errors {
        if !variants.iter().any(|(c, _)| *c == &row.code) {
            variants.push((&row.code, &row.variant));
        }
    }
    let variant_decls = variants.iter().map(|(c, v)| {
        let (docs, v) = (doc(&code(c)), ident(v));
        quote!(#docs #v,)
    });
    let from_arms = variants.iter().map(|(c, v)| {
        let v = ident(v);
        quote!(#c => Self::#v,)
    });
    let code_arms = variants.iter().map(|(c, v)| {
        let v = ident(v);
        quote!(Self::#v => #c,)
    });
    let rows = ep.errors.iter().map(|r| match &r.common {
        Some(name) => {
            let name = ident(name);
            quote!(super::common_errors::#name)
        }
        None => error_doc(r),
    });
    let mut table =
        String::from("| status | code | scope | description | solution |\n|---|---|---|---|---|\n");
    for r in &ep.errors {
        let source = r
            .source
            .as_ref()
            .map(|s| format!(" (source: {s})"))
            .unwrap_or_default();
        table.push_str(&format!(
            "| {} | {} | {} | {}{source} | {} |\n",
            r.status,
            code(&r.code),
            r.scope.as_str(),
            r.description.replace('|', "\\|"),
            r.solution.replace('|', "\\|")
        ));
    }
    let codes_doc = doc(&format!(
        "The error codes of {} ({}): its error table and the common error codes.\n\n{table}\n\
         Codes the table does not list decode into `Unknown`, which keeps the raw code; their \
         scope is `caller` (`ErrorScope::UNDOCUMENTED`).",
        code(id),
        ep.source.title
    ));

    let row_count = proc_macro2::Literal::usize_unsuffixed(ep.errors.len());
    quote! {
        use wechatpay_models::{#request, #response};
        use wechatpay_runtime as rt;

        /// The error table, every row in page order, then the common rows: the one copy
        /// that the metadata and the typed codes both borrow.
        static ERRORS: [rt::ErrorDoc; #row_count] = [#(#rows),*];

        #type_doc
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
        pub struct #name;

        impl rt::Endpoint for #name {
            type Request = #request;
            type Response = #response;
            type ErrorCode = #codes_name;

            const INFO: &'static rt::EndpointInfo = &rt::EndpointInfo {
                operation_id: #id,
                title: #title,
                doc_updated: #updated,
                pages: &[#(#pages),*],
                complete: #complete,
                method: rt::Method::#method,
                path: rt::PathTemplate::new(#path_template),
                auth: #auth,
                body: #body,
                headers: &[#(#headers),*],
                rate_limit: #rate_limit,
                rate_limit_source: #rate_limit_source,
                rate_per_second: #rate_per_second,
                request: <#request as rt::Described>::TYPE_INFO,
                response: <#response as rt::Described>::TYPE_INFO,
                request_number: #request_number,
                pagination: #pagination,
                follow_up: #follow_up,
                errors: <#codes_name as rt::ErrorCode>::TABLE,
                request_examples: #request_examples,
                response_examples: #response_examples,
            };

            #path_fn
            #query_fn
        }

        /// The request names its operation, so `client.execute(&request)` needs no turbofish.
        impl rt::OperationRequest<#name> for #request {}

        #codes_doc
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum #codes_name {
            #(#variant_decls)*
            /// A code this operation's error table does not list; kept verbatim.
            Unknown(String),
        }

        impl rt::ErrorCode for #codes_name {
            const TABLE: &'static [rt::ErrorDoc] = &ERRORS;

            fn from_code(code: &str) -> Self {
                match code {
                    #(#from_arms)*
                    other => Self::Unknown(other.to_owned()),
                }
            }

            fn code(&self) -> &str {
                match self {
                    #(#code_arms)*
                    Self::Unknown(raw) => raw,
                }
            }
        }

        #paginated

        impl std::fmt::Display for #codes_name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(rt::ErrorCode::code(self))
            }
        }
    }
}
