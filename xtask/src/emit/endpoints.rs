//! Emits `crates/wechatpay-endpoints/src/generated/**`: one file per operation
//! with its `Endpoint` impl, schema facts and typed error codes.

use std::collections::BTreeSet;

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::docs::{code, doc};
use super::names::{field_ident, module_name, type_ident, variant_ident};
use super::{format, GeneratedFile};
use crate::schema::model::*;

const DIR: &str = "crates/wechatpay-endpoints/src/generated";

pub fn emit(schema: &Schema) -> Result<Vec<GeneratedFile>, String> {
    let mut files = Vec::new();
    for ep in &schema.endpoints {
        files.push(GeneratedFile {
            path: format!("{DIR}/{}.rs", module_name(&ep.name)),
            contents: format::render(endpoint(ep, schema), &ep.file)?,
        });
    }
    let decls = schema.endpoints.iter().map(|ep| {
        let m = format_ident!("{}", module_name(&ep.name));
        let t = type_ident(&ep.name);
        let codes = format_ident!("{}ErrorCode", ep.name);
        quote! { mod #m; pub use #m::{#t, #codes}; }
    });
    let all = schema.endpoints.iter().map(|ep| {
        let t = type_ident(&ep.name);
        quote!(<#t as wechatpay_transport::Endpoint>::INFO)
    });
    let main = &schema.hosts.main;
    let backup = &schema.hosts.backup;
    let root = quote! {
        //! Every operation in the schema, one module each.
        #(#decls)*

        /// The schema facts of every operation, in schema file order.
        pub static ALL: &[&wechatpay_transport::EndpointInfo] = &[#(#all),*];

        /// The main API host (nearest access point).
        pub const MAIN_HOST: &str = #main;

        /// The backup API host (another city), for cross-city failover.
        pub const BACKUP_HOST: &str = #backup;
    };
    files.push(GeneratedFile {
        path: format!("{DIR}/mod.rs"),
        contents: format::render(root, "schema/")?,
    });
    Ok(files)
}

fn method_tokens(method: Method) -> TokenStream {
    match method {
        Method::Get => quote!(wechatpay_transport::Method::Get),
        Method::Post => quote!(wechatpay_transport::Method::Post),
        Method::Put => quote!(wechatpay_transport::Method::Put),
        Method::Patch => quote!(wechatpay_transport::Method::Patch),
        Method::Delete => quote!(wechatpay_transport::Method::Delete),
    }
}

fn opt_str(value: &Option<String>) -> TokenStream {
    match value {
        Some(v) => quote!(Some(#v)),
        None => quote!(None),
    }
}

/// 5xx, 429 and the two codes WeChat Pay documents as "try again" can succeed on a resend.
fn retryable(row: &ErrorRow) -> bool {
    row.status >= 500
        || row.status == 429
        || matches!(row.code.as_str(), "SYSTEM_ERROR" | "FREQUENCY_LIMITED")
}

fn error_doc(row: &ErrorRow) -> TokenStream {
    let (status, code, description, solution, retry) = (
        proc_macro2::Literal::u16_unsuffixed(row.status),
        &row.code,
        &row.description,
        &row.solution,
        retryable(row),
    );
    quote!(wechatpay_transport::ErrorDoc { status: #status, code: #code, description: #description, solution: #solution, retryable: #retry })
}

/// Request fields flattened to dotted paths, nested objects included.
fn field_infos(
    schema: &Schema,
    type_name: &str,
    prefix: &str,
    depth: usize,
    out: &mut Vec<TokenStream>,
) {
    let Some(TypeDef::Object(obj)) = schema.types.get(type_name) else {
        return;
    };
    for f in &obj.fields {
        let path = if prefix.is_empty() {
            f.name.clone()
        } else {
            format!("{prefix}.{}", f.name)
        };
        let location = match f.location {
            Location::Body => quote!(wechatpay_transport::Location::Body),
            Location::Path => quote!(wechatpay_transport::Location::Path),
            Location::Query => quote!(wechatpay_transport::Location::Query),
        };
        let type_name = f.ty.schema_name();
        let required = f.required;
        let min = f.min_length.map(|v| v as usize);
        let max = f.max_length.map(|v| v as usize);
        let (min, max) = (
            min.map_or(quote!(None), |v| {
                let v = proc_macro2::Literal::usize_unsuffixed(v);
                quote!(Some(#v))
            }),
            max.map_or(quote!(None), |v| {
                let v = proc_macro2::Literal::usize_unsuffixed(v);
                quote!(Some(#v))
            }),
        );
        let unit = match f.length_unit {
            LengthUnit::Chars => quote!(wechatpay_transport::LengthUnit::Chars),
            LengthUnit::Bytes => quote!(wechatpay_transport::LengthUnit::Bytes),
        };
        let charset = opt_str(&f.charset.as_ref().map(|c| c.source.clone()));
        let mut innermost = &f.ty;
        while let FieldType::Array(inner) = innermost {
            innermost = inner;
        }
        let enum_values: Vec<&String> = match innermost {
            FieldType::Enum(e) => match schema.types.get(e) {
                Some(TypeDef::Enum(e)) => e.values.iter().map(|v| &v.value).collect(),
                _ => Vec::new(),
            },
            _ => Vec::new(),
        };
        let description = match &f.title {
            Some(title) => format!("【{title}】 {}", f.description),
            None => f.description.clone(),
        };
        out.push(quote! {
            wechatpay_transport::FieldInfo {
                path: #path, location: #location, type_name: #type_name, required: #required,
                min_length: #min, max_length: #max, length_unit: #unit, charset: #charset,
                enum_values: &[#(#enum_values),*], description: #description,
            }
        });
        if let FieldType::Object(inner) = innermost {
            if depth < 8 {
                let nested = if matches!(f.ty, FieldType::Array(_)) {
                    format!("{path}[]")
                } else {
                    path
                };
                field_infos(schema, inner, &nested, depth + 1, out);
            }
        }
    }
}

fn examples(list: &[Example]) -> TokenStream {
    let items = list.iter().map(|ex| {
        let name = &ex.name;
        let body = ex.body.trim_end();
        let params = ex.path.iter().map(|(k, v)| quote!((#k, #v)));
        quote!(wechatpay_transport::Example { name: #name, path_params: &[#(#params),*], body: #body })
    });
    quote!(&[#(#items),*])
}

fn path_fn(ep: &Endpoint) -> TokenStream {
    // Split the template at its placeholders: literal, param, literal, …
    let mut format_string = String::new();
    let mut args = Vec::new();
    let mut rest = ep.path.as_str();
    while let Some(start) = rest.find('{') {
        let end = start + rest[start..].find('}').unwrap_or(rest.len() - start);
        format_string.push_str(&rest[..start].replace('{', "{{").replace('}', "}}"));
        format_string.push_str("{}");
        let ident = field_ident(&rest[start + 1..end]);
        args.push(quote!(wechatpay_transport::endpoint::encode_path_segment(&request.#ident)));
        rest = &rest[(end + 1).min(rest.len())..];
    }
    format_string.push_str(rest);
    if args.is_empty() {
        quote! {
            fn path(_request: &Self::Request) -> String {
                #format_string.to_owned()
            }
        }
    } else {
        quote! {
            fn path(request: &Self::Request) -> String {
                format!(#format_string, #(#args),*)
            }
        }
    }
}

fn endpoint(ep: &Endpoint, schema: &Schema) -> TokenStream {
    let name = type_ident(&ep.name);
    let codes_name = format_ident!("{}ErrorCode", ep.name);
    let request = type_ident(&ep.request);
    let response = type_ident(&ep.response);
    let (id, title, updated, path_template) =
        (&ep.id, &ep.source.title, &ep.source.updated, &ep.path);
    let method = method_tokens(ep.method);
    let (auth, auth_text) = match ep.auth {
        Auth::Merchant => (
            quote!(wechatpay_transport::AuthScheme::Merchant),
            "merchant, `WECHATPAY2-SHA256-RSA2048`",
        ),
        Auth::Brand => (
            quote!(wechatpay_transport::AuthScheme::Brand),
            "brand, `WECHATPAY-BRAND-SHA256-RSA2048`",
        ),
    };
    let headers = ep.headers.iter().filter(|h| h.required).map(|h| {
        let (n, d) = (&h.name, &h.description);
        quote!(wechatpay_transport::HeaderInfo { name: #n, description: #d })
    });
    let rate_limit = opt_str(&ep.rate_limit);
    let (request_name, response_name) = (&ep.request, &ep.response);
    let mut fields = Vec::new();
    field_infos(schema, &ep.request, "", 0, &mut fields);
    let errors = ep.errors.iter().map(error_doc);
    let request_examples = examples(&ep.request_examples);
    let response_examples = examples(&ep.response_examples);
    let path_fn = path_fn(ep);

    let mut type_doc = format!(
        "{} — `{} {}` ({auth_text}).\n\n{}",
        ep.source.title,
        ep.method_str(),
        ep.path,
        ep.source.summary
    );
    if let Some(pre) = &ep.source.preconditions {
        type_doc.push_str(&format!("\n\n前置条件: {pre}"));
    }
    if let Some(limit) = &ep.rate_limit {
        type_doc.push_str(&format!("\n\nRate limit: {limit}."));
    }
    type_doc.push_str(&format!(
        "\n\nOperation id {}; request [`{}`](wechatpay_models::{}), response [`{}`](wechatpay_models::{}); \
         errors [`{codes_name}`]. From `{}` (doc page updated {}).",
        code(id), ep.request, ep.request, ep.response, ep.response, ep.file, updated
    ));
    let type_doc = doc(&type_doc);

    // One variant per distinct code, in table order; every row stays in its docs.
    let mut seen = BTreeSet::new();
    let codes: Vec<&String> = ep
        .errors
        .iter()
        .map(|r| &r.code)
        .filter(|c| seen.insert(c.as_str()))
        .collect();
    let variants = codes.iter().map(|c| {
        let rows: Vec<&ErrorRow> = ep.errors.iter().filter(|r| &r.code == *c).collect();
        let text = rows
            .iter()
            .map(|r| {
                format!(
                    "- {} {}: {} — {}",
                    r.status,
                    code(&r.code),
                    r.description,
                    r.solution
                )
            })
            .collect::<Vec<_>>()
            .join("\n");
        let docs = doc(&text);
        let v = variant_ident(c);
        quote!(#docs #v,)
    });
    let from_arms = codes.iter().map(|c| {
        let v = variant_ident(c);
        quote!(#c => Self::#v,)
    });
    let code_arms = codes.iter().map(|c| {
        let v = variant_ident(c);
        quote!(Self::#v => #c,)
    });
    let docs_arms = codes.iter().map(|c| {
        let v = variant_ident(c);
        let rows = ep.errors.iter().filter(|r| &r.code == *c).map(error_doc);
        quote!(Self::#v => &[#(#rows),*],)
    });
    let codes_doc = doc(&format!(
        "The error codes of {} ({}), from its error table and the common error codes.\n\n\
         Codes the table does not list decode into `Unknown`, which keeps the raw code.",
        code(id),
        ep.source.title
    ));

    quote! {
        use wechatpay_models::{#request, #response};
        use wechatpay_transport::{Endpoint, EndpointInfo, ErrorCode, ErrorDoc};

        #type_doc
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
        pub struct #name;

        impl Endpoint for #name {
            type Request = #request;
            type Response = #response;
            type ErrorCode = #codes_name;

            const INFO: &'static EndpointInfo = &EndpointInfo {
                operation_id: #id,
                title: #title,
                doc_updated: #updated,
                method: #method,
                path_template: #path_template,
                auth: #auth,
                required_headers: &[#(#headers),*],
                rate_limit: #rate_limit,
                request_type: #request_name,
                response_type: #response_name,
                fields: &[#(#fields),*],
                errors: &[#(#errors),*],
                request_examples: #request_examples,
                response_examples: #response_examples,
            };

            #path_fn
        }

        #codes_doc
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum #codes_name {
            #(#variants)*
            /// A code this operation's error table does not list; kept verbatim.
            Unknown(String),
        }

        impl ErrorCode for #codes_name {
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

            fn docs(&self) -> &'static [ErrorDoc] {
                match self {
                    #(#docs_arms)*
                    Self::Unknown(_) => &[],
                }
            }

            fn retryable(&self) -> bool {
                self.docs().iter().any(|row| row.retryable)
            }
        }

        impl std::fmt::Display for #codes_name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.code())
            }
        }
    }
}

impl Endpoint {
    fn method_str(&self) -> &'static str {
        match self.method {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}
