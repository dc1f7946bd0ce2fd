//! The attribute's arguments: `blocking` and `schema = path::to::fn`.

use proc_macro2::TokenStream;
use syn::punctuated::Punctuated;
use syn::{Expr, Meta, Path, Token};

use crate::ctxt::Ctxt;

#[derive(Default)]
pub struct Args {
    pub blocking: bool,
    pub schema: Option<Path>,
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
                other => cx.error_spanned_by(
                    other,
                    "unknown #[data_service] argument; expected `blocking` and/or `schema = path::to::fn`",
                ),
            }
        }
        out
    }
}
