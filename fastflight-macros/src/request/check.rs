//! The rules a request type must follow, each an error on the offending tokens.

use syn::{Data, Fields};

use super::model::Request;
use crate::ctxt::Ctxt;

/// Methods the clients have of their own (`fastflight::Client`,
/// `fastflight::blocking::Client`, and the traits they implement): a stub of the same
/// name would be hidden behind them.
pub const CLIENT_METHODS: &[&str] = &[
    "action",
    "at",
    "authenticate_basic",
    "circuit",
    "clone",
    "clone_from",
    "connect",
    "fetch",
    "fetch_request",
    "fetch_spread",
    "fetch_ticket",
    "flight_client",
    "flight_info",
    "fmt",
    "is_partitioned",
    "iter",
    "from_channel",
    "list_flights",
    "list_services",
    "sql",
    "to_owned",
    "with_bearer",
    "with_compression",
    "with_header",
    "with_timeout",
];

pub fn check(cx: &Ctxt, model: &Request<'_>) {
    let input = model.input;
    if !input.generics.params.is_empty() || input.generics.where_clause.is_some() {
        cx.error_spanned_by(
            &input.generics,
            "a FlightRequest cannot be generic: its registered name must name exactly one type",
        );
    }
    match &input.data {
        Data::Struct(data) => {
            if !matches!(data.fields, Fields::Named(_)) {
                cx.error_spanned_by(
                    &input.ident,
                    "FlightRequest needs a struct with named fields: a ticket is a JSON object whose keys are the field names",
                );
            }
        }
        Data::Enum(e) => cx.syn_error(syn::Error::new(
            e.enum_token.span,
            "FlightRequest can only be derived for a struct with named fields, not an enum",
        )),
        Data::Union(u) => cx.syn_error(syn::Error::new(
            u.union_token.span,
            "FlightRequest can only be derived for a struct with named fields, not a union",
        )),
    }
    if let Some(name) = &model.name {
        if name.value().trim().is_empty() {
            cx.error_spanned_by(name, "the registered name must not be empty");
        }
    }
    let method = &model.method;
    if syn::parse_str::<syn::Ident>(&method.name).is_err() {
        cx.syn_error(syn::Error::new(
            method.span,
            format!(
                "`{}` is not a method name: #[flight(method = \"...\")] takes a Rust identifier such as \"orders\"",
                method.name
            ),
        ));
    } else if CLIENT_METHODS.contains(&method.name.as_str()) {
        let how = if method.renamed {
            "choose another with #[flight(method = \"...\")]"
        } else {
            "rename it with #[flight(method = \"...\")], e.g. #[flight(method = \"get_orders\")]"
        };
        cx.syn_error(syn::Error::new(
            method.span,
            format!(
                "the typed client stub of `{}` would be called `{}`, which the client already has as a method of its own; {how}",
                model.ident, method.name
            ),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::CLIENT_METHODS;

    /// Every method of the clients' own `impl` blocks is in [`CLIENT_METHODS`], read from
    /// the sources themselves, so a method added to a client cannot hide a stub silently.
    #[test]
    fn the_list_holds_every_method_of_the_clients() {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fastflight/src/client");
        let mut missing = Vec::new();
        let mut seen = 0;
        let files: Vec<std::path::PathBuf> = std::fs::read_dir(&src)
            .expect("the client's folder")
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| path.extension().is_some_and(|e| e == "rs"))
            .collect();
        assert!(files.len() > 5, "the client's sources moved? {files:?}");
        for path in files {
            let file = path.display();
            let text = std::fs::read_to_string(&path).expect("client source");
            let parsed = syn::parse_file(&text).expect("client source parses");
            for item in parsed.items {
                let syn::Item::Impl(block) = item else {
                    continue;
                };
                let syn::Type::Path(ty) = &*block.self_ty else {
                    continue;
                };
                if !ty.path.is_ident("Client") {
                    continue;
                }
                for item in block.items {
                    let syn::ImplItem::Fn(method) = item else {
                        continue;
                    };
                    let public = matches!(method.vis, syn::Visibility::Public(_));
                    if !public || method.sig.receiver().is_none() {
                        continue;
                    }
                    seen += 1;
                    let name = method.sig.ident.to_string();
                    if !CLIENT_METHODS.contains(&name.as_str()) {
                        missing.push(format!("{file}: {name}"));
                    }
                }
            }
        }
        assert!(
            seen > 12,
            "only {seen} client methods found: the sources moved?"
        );
        assert!(missing.is_empty(), "add to CLIENT_METHODS: {missing:?}");
    }
}
