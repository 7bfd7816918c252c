//! Emits `crates/wechatpay-endpoints/src/generated/**`: one file per operation
//! with its `Endpoint` impl and typed error codes, in the module of its caller
//! (`brand/`, `merchant/`: the IR decides which), and a root module with the
//! list of operations and the table behind `dispatch` (operation id → entry points).

use std::collections::BTreeMap;

use proc_macro2::TokenStream;
use quote::quote;

use super::docs::{code, doc};
use super::{format, ident, GeneratedFile};
use crate::schema::model::*;

const DIR: &str = "crates/wechatpay-endpoints/src/generated";

pub fn emit(schema: &Schema) -> Result<Vec<GeneratedFile>, String> {
    let mut files = Vec::new();
    // Each caller's operations, sorted by Rust name.
    let mut callers: BTreeMap<&str, BTreeMap<&str, &Endpoint>> = BTreeMap::new();
    for ep in &schema.endpoints {
        callers
            .entry(ep.caller.as_str())
            .or_default()
            .insert(ep.name.as_str(), ep);
        files.push(GeneratedFile {
            path: format!("{DIR}/{}/{}.rs", ep.caller, ep.module),
            contents: format::render(endpoint(ep, schema), &ep.file)?,
        });
    }
    for (caller, eps) in &callers {
        files.push(GeneratedFile {
            path: format!("{DIR}/{caller}/mod.rs"),
            contents: format::render(caller_module(eps.values().copied()), "schema/")?,
        });
    }
    let caller_decls = callers.keys().map(|caller| {
        let m = ident(caller);
        quote!(pub mod #m;)
    });
    let caller_rows = callers.keys().map(|caller| {
        let m = ident(caller);
        quote!((#caller, #m::ALL))
    });
    let path = |ep: &Endpoint| {
        let (m, t) = (ident(&ep.caller), ident(&ep.name));
        quote!(#m::#t)
    };
    let all = schema.endpoints.iter().map(|ep| {
        let t = path(ep);
        quote!(<#t as rt::Endpoint>::INFO)
    });
    let operations = schema.endpoints.iter().map(|ep| {
        let t = path(ep);
        quote!(crate::Operation::of::<#t>())
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
        //! Every operation in the schema, in the module of who calls it.
        use wechatpay_runtime as rt;

        #(#caller_decls)*

        /// The common error rows (公共错误码) every operation's table includes, once each.
        pub(crate) mod common_errors {
            use wechatpay_runtime as rt;
            #(#common)*
        }

        /// The schema facts of every operation, in schema file order.
        pub static ALL: &[&rt::EndpointInfo] = &[#(#all),*];

        /// Each caller's module name and its operations (sorted by Rust name).
        pub static CALLERS: &[(&str, &[&rt::EndpointInfo])] = &[#(#caller_rows),*];

        /// What tools that take an operation id at run time do with it (the CLI, the
        /// campaign, the sandbox), for every operation in schema file order: found by
        /// [`dispatch`](crate::dispatch).
        pub static OPERATIONS: &[crate::Operation] = &[#(#operations),*];
    };
    files.push(GeneratedFile {
        path: format!("{DIR}/mod.rs"),
        contents: format::render(root, "schema/")?,
    });
    Ok(files)
}

/// A caller's module: its operations (sorted by Rust name) and their list.
fn caller_module<'a>(eps: impl Iterator<Item = &'a Endpoint> + Clone) -> TokenStream {
    let who = match eps.clone().next().map(|ep| ep.auth) {
        Some(Auth::Brand) => "a brand calls, signed `WECHATPAY-BRAND-SHA256-RSA2048`",
        Some(Auth::Partner) => {
            "a service provider (服务商) calls for a brand that authorised it, signed \
             `WECHATPAY2-SHA256-RSA2048` with the provider's `mchid`"
        }
        Some(Auth::Merchant) | None => "a merchant calls, signed `WECHATPAY2-SHA256-RSA2048`",
    };
    let module_doc = format!(" The operations {who}, sorted by name.");
    let decls = eps.clone().map(|ep| {
        let (m, t, codes) = (ident(&ep.module), ident(&ep.name), ident(&ep.error_enum));
        quote! { mod #m; pub use #m::{#t, #codes}; }
    });
    let all = eps.map(|ep| {
        let t = ident(&ep.name);
        quote!(<#t as rt::Endpoint>::INFO)
    });
    quote! {
        #![doc = #module_doc]
        use wechatpay_runtime as rt;

        #(#decls)*

        /// The schema facts of this module's operations, in the order above.
        pub static ALL: &[&rt::EndpointInfo] = &[#(#all),*];
    }
}

fn error_doc(row: &ErrorRow) -> TokenStream {
    let status = proc_macro2::Literal::u16_unsuffixed(row.status);
    let (c, d, s) = (&row.code, &row.description, &row.solution);
    let scope = match row.scope {
        ErrorScope::Request => quote!(rt::ErrorScope::Request),
        ErrorScope::Caller => quote!(rt::ErrorScope::Caller),
    };
    let key = opt_str(&row.key);
    quote!(rt::ErrorDoc { status: #status, code: #c, description: #d, solution: #s, scope: #scope, key: #key })
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
    let notes = &ep.source.notes;
    let complete = match ep.source.completeness.as_deref() {
        Some("full") => quote!(Some(true)),
        Some(_) => quote!(Some(false)),
        None => quote!(None),
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
            "merchant (signature `WECHATPAY2-SHA256-RSA2048`)",
        ),
        Auth::Brand => (
            quote!(rt::AuthScheme::Brand),
            "brand (signature `WECHATPAY-BRAND-SHA256-RSA2048`)",
        ),
        Auth::Partner => (
            quote!(rt::AuthScheme::Partner),
            "service provider (signature `WECHATPAY2-SHA256-RSA2048`, the provider's `mchid`)",
        ),
    };
    let brand_field = opt_str(&ep.brand_field);
    let twin_of = opt_str(&ep.twin_of);
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

    // What a caller needs: the title, method and path, who calls it, what it does, its
    // preconditions, rate limit, request number and follow-up. The pages it was transcribed
    // from and the transcription notes stay in the schema and in `wechatpay describe`.
    let mut type_doc = format!(
        "{} — `{} {}`, called by the {auth_text}.\n\n{}",
        ep.source.title,
        ep.method.as_str(),
        ep.path,
        ep.source.summary
    );
    if let Some(pre) = &ep.source.preconditions {
        type_doc.push_str(&format!("\n\n前置条件 (preconditions): {pre}"));
    }
    if let Some(limit) = &ep.rate_limit {
        // A limit the operation's own page does not print is a weaker fact: say where it is from.
        let from = ep
            .rate_limit_source
            .as_deref()
            .map(|s| format!(" (not on this operation's page; taken from {s})"))
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
    type_doc.push_str(&format!(
        "\n\nOperation id {}; request [`{}`](wechatpay_models::{}), response [`{}`](wechatpay_models::{}); \
         errors [`{}`].",
        code(id), ep.request, ep.request, ep.response, ep.response, ep.error_enum
    ));
    let type_doc = doc(&type_doc);

    // One variant per distinct code, in table order, documented with one line: the
    // status(es) and every meaning the table gives the code. The full rows (solutions,
    // scopes) are data in `TABLE`, printed by `wechatpay describe`.
    let mut variants: Vec<(&String, &String, Vec<&ErrorRow>)> = Vec::new();
    for row in &ep.errors {
        match variants.iter_mut().find(|(c, _, _)| *c == &row.code) {
            Some((_, _, rows)) => rows.push(row),
            None => variants.push((&row.code, &row.variant, vec![row])),
        }
    }
    let variant_decls = variants.iter().map(|(c, v, rows)| {
        let mut statuses: Vec<String> = Vec::new();
        for r in rows {
            let s = r.status.to_string();
            if !statuses.contains(&s) {
                statuses.push(s);
            }
        }
        let meanings: Vec<&str> = rows
            .iter()
            .map(|r| r.description.trim().trim_end_matches(['。', '.']))
            .collect();
        let (docs, v) = (
            doc(&format!(
                "{} {}: {}",
                statuses.join("/"),
                code(c),
                meanings.join("; ")
            )),
            ident(v),
        );
        quote!(#docs #v,)
    });
    let from_arms = variants.iter().map(|(c, v, _)| {
        let v = ident(v);
        quote!(#c => Self::#v,)
    });
    let code_arms = variants.iter().map(|(c, v, _)| {
        let v = ident(v);
        quote!(Self::#v => #c,)
    });
    let rows = ep.errors.iter().map(|r| match &r.common {
        Some(name) => {
            let name = ident(name);
            quote!(crate::generated::common_errors::#name)
        }
        None => error_doc(r),
    });
    let codes_doc = doc(&format!(
        "The error codes of {} ({}): one variant per code of its error table and of the \
         common error codes, each documented with its HTTP status and what it means. The \
         rows with their solutions and scopes are [`TABLE`](wechatpay_runtime::ErrorCode::TABLE) \
         (`wechatpay describe {}` prints them).\n\n\
         Codes the table does not list decode into `Unknown`, which keeps the raw code; their \
         scope is `caller` (`ErrorScope::UNDOCUMENTED`).",
        code(id),
        ep.source.title,
        id
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
                notes: &[#(#notes),*],
                method: rt::Method::#method,
                path: rt::PathTemplate::new(#path_template),
                auth: #auth,
                brand_field: #brand_field,
                twin_of: #twin_of,
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
