//! The attribute's arguments: `blocking`, `schema = path::to::fn`, `roles = [".."]`
//! `authorize = path::to::fn`, `open_without_auth`, `partitions = path::to::fn`,
//! `ordered` and `batch_rows = N`.

use proc_macro2::TokenStream;
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, Lit, LitStr, Meta, Path, Token};

use crate::ctxt::Ctxt;

#[derive(Default)]
pub struct Args {
    pub blocking: bool,
    pub schema: Option<Path>,
    /// The roles of which a caller needs one (none: any caller).
    pub roles: Option<Vec<LitStr>>,
    /// A function of the caller and the request that allows or denies the call.
    pub authorize: Option<Path>,
    /// `open_without_auth`: `roles` and `authorize` apply when the server authenticates
    /// its callers; a server that authenticates nobody serves the service to anyone.
    pub open_without_auth: Option<Path>,
    /// A function splitting a request into the requests of its partitions.
    pub partitions: Option<Path>,
    /// `ordered`: the partitions' results are read in order.
    pub ordered: Option<Path>,
    /// `batch_rows = N`: the rows of a batch at most, for a service yielding rows.
    pub batch_rows: Option<syn::LitInt>,
}

impl Args {
    /// Every argument; each bad one is an error, and the others still count.
    pub fn parse(cx: &Ctxt, args: TokenStream) -> Args {
        let mut out = Args::default();
        let metas =
            match syn::parse::Parser::parse2(Punctuated::<Meta, Token![,]>::parse_terminated, args)
            {
                Ok(metas) => metas,
                Err(e) => {
                    cx.syn_error(e);
                    return out;
                }
            };
        for meta in metas {
            match &meta {
                Meta::Path(p) if p.is_ident("blocking") => {
                    if out.blocking {
                        cx.error_spanned_by(p, "duplicate `blocking`");
                    }
                    out.blocking = true;
                }
                Meta::NameValue(nv) if nv.path.is_ident("schema") => {
                    let Expr::Path(path) = &nv.value else {
                        cx.error_spanned_by(
                            &nv.value,
                            "`schema` takes the path of a function returning the result's schema, e.g. `schema = trades_schema`",
                        );
                        continue;
                    };
                    if out.schema.replace(path.path.clone()).is_some() {
                        cx.error_spanned_by(nv, "duplicate `schema`");
                    }
                }
                Meta::Path(p) if p.is_ident("open_without_auth") => {
                    if out.open_without_auth.replace(p.clone()).is_some() {
                        cx.error_spanned_by(p, "duplicate `open_without_auth`");
                    }
                }
                Meta::Path(p) if p.is_ident("ordered") => {
                    if out.ordered.replace(p.clone()).is_some() {
                        cx.error_spanned_by(p, "duplicate `ordered`");
                    }
                }
                Meta::NameValue(nv) if nv.path.is_ident("partitions") => {
                    let Expr::Path(path) = &nv.value else {
                        cx.error_spanned_by(
                            &nv.value,
                            "`partitions` takes the path of a function `fn(&Request) -> Vec<Request>` splitting a request into its parts, e.g. `partitions = by_day`",
                        );
                        continue;
                    };
                    if out.partitions.replace(path.path.clone()).is_some() {
                        cx.error_spanned_by(nv, "duplicate `partitions`");
                    }
                }
                Meta::NameValue(nv) if nv.path.is_ident("batch_rows") => {
                    let rows = match &nv.value {
                        Expr::Lit(ExprLit {
                            lit: Lit::Int(n), ..
                        }) if n.base10_parse::<usize>().is_ok_and(|n| n > 0) => n.clone(),
                        other => {
                            cx.error_spanned_by(
                                other,
                                "`batch_rows` takes the rows of a batch at most, a whole number above 0, e.g. `batch_rows = 10_000`",
                            );
                            continue;
                        }
                    };
                    if out.batch_rows.replace(rows).is_some() {
                        cx.error_spanned_by(nv, "duplicate `batch_rows`");
                    }
                }
                Meta::NameValue(nv) if nv.path.is_ident("roles") => {
                    let Some(roles) = role_list(&nv.value) else {
                        cx.error_spanned_by(
                            &nv.value,
                            "`roles` takes a list of role names, e.g. `roles = [\"analyst\", \"admin\"]`: a caller needs one of them",
                        );
                        continue;
                    };
                    if out.roles.replace(roles).is_some() {
                        cx.error_spanned_by(nv, "duplicate `roles`");
                    }
                }
                Meta::NameValue(nv) if nv.path.is_ident("authorize") => {
                    let Expr::Path(path) = &nv.value else {
                        cx.error_spanned_by(
                            &nv.value,
                            "`authorize` takes the path of a function `fn(&Identity, &Request) -> Result<(), String>` (or `-> bool`), e.g. `authorize = may_read`",
                        );
                        continue;
                    };
                    if out.authorize.replace(path.path.clone()).is_some() {
                        cx.error_spanned_by(nv, "duplicate `authorize`");
                    }
                }
                other => cx.error_spanned_by(
                    other,
                    "unknown #[data_service] argument; expected `blocking`, `schema = path::to::fn`, `roles = [\"..\"]`, `authorize = path::to::fn`, `open_without_auth`, `partitions = path::to::fn`, `ordered` or `batch_rows = N`",
                ),
            }
        }
        out
    }
}

/// `["a", "b"]`: a non-empty list of non-empty string literals.
fn role_list(value: &Expr) -> Option<Vec<LitStr>> {
    let Expr::Array(array) = value else {
        return None;
    };
    let roles: Vec<LitStr> = array
        .elems
        .iter()
        .map(|e| match e {
            Expr::Lit(ExprLit {
                lit: Lit::Str(s), ..
            }) if !s.value().is_empty() => Some(s.clone()),
            _ => None,
        })
        .collect::<Option<_>>()?;
    (!roles.is_empty()).then_some(roles)
}
