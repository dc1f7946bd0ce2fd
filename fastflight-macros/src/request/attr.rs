//! The attributes a request struct carries: `#[flight(...)]`, ours, and the
//! `#[serde(...)]` keys that change a field's wire name or make it optional.

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::{Attribute, Ident, LitStr, Path, Token};

use crate::ctxt::Ctxt;

/// `#[flight(name = "...", validate [= path], method = "...", rows = Type)]`.
#[derive(Default)]
pub struct Flight {
    pub name: Option<LitStr>,
    pub validate: Option<ValidateHook>,
    pub method: Option<LitStr>,
    /// The row type of the result: the stub returns rows of it.
    pub rows: Option<syn::Type>,
}

/// How a decoded request is validated.
pub enum ValidateHook {
    /// The type's `Validate` impl.
    Trait,
    /// A function `fn(&Self) -> Result<(), E: Display>`.
    Path(Path),
}

impl Flight {
    /// Every `#[flight]` attribute of the container; each bad key is an error.
    pub fn from_attrs(cx: &Ctxt, attrs: &[Attribute]) -> Self {
        let mut out = Flight::default();
        for attr in attrs.iter().filter(|a| a.path().is_ident("flight")) {
            let result = attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("name") {
                    let lit: LitStr = meta.value()?.parse()?;
                    if out.name.replace(lit).is_some() {
                        cx.syn_error(meta.error("duplicate `name` in #[flight(...)]"));
                    }
                } else if meta.path.is_ident("method") {
                    let lit: LitStr = meta.value()?.parse()?;
                    if out.method.replace(lit).is_some() {
                        cx.syn_error(meta.error("duplicate `method` in #[flight(...)]"));
                    }
                } else if meta.path.is_ident("rows") {
                    let ty: syn::Type = meta.value()?.parse()?;
                    if out.rows.replace(ty).is_some() {
                        cx.syn_error(meta.error("duplicate `rows` in #[flight(...)]"));
                    }
                } else if meta.path.is_ident("validate") {
                    let hook = if meta.input.peek(Token![=]) {
                        ValidateHook::Path(meta.value()?.parse()?)
                    } else {
                        ValidateHook::Trait
                    };
                    if out.validate.replace(hook).is_some() {
                        cx.syn_error(meta.error("duplicate `validate` in #[flight(...)]"));
                    }
                } else {
                    cx.syn_error(meta.error(format!(
                        "unknown #[flight] key `{}`; expected `name = \"...\"`, `method = \"...\"`, `rows = RowType` or `validate` / `validate = path::to::fn`",
                        meta.path.to_token_stream()
                    )));
                    // Skip the key's value, if any, and go on with the next key.
                    if meta.input.peek(Token![=]) {
                        meta.value()?.parse::<syn::Expr>()?;
                    }
                }
                Ok(())
            });
            if let Err(e) = result {
                cx.syn_error(e);
            }
        }
        out
    }
}

/// A serde `default`: `#[serde(default)]` or `#[serde(default = "path")]`.
#[derive(Clone)]
pub enum SerdeDefault {
    Trait,
    Path(Path),
}

/// The serde attributes that change a field's wire name or make it optional.
#[derive(Default)]
pub struct Serde {
    pub rename: Option<String>,
    pub rename_all: Option<String>,
    pub default: Option<SerdeDefault>,
    pub skip: bool,
}

impl Serde {
    pub fn from_attrs(attrs: &[Attribute]) -> Self {
        let mut out = Serde::default();
        for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
            // serde itself reports malformed attributes; unknown keys are skipped here.
            let _ = attr.parse_nested_meta(|meta| {
                let key = meta
                    .path
                    .get_ident()
                    .map(Ident::to_string)
                    .unwrap_or_default();
                let value = if meta.input.peek(Token![=]) {
                    meta.value()?.parse::<syn::Expr>().ok()
                } else if meta.input.peek(syn::token::Paren) {
                    let content;
                    syn::parenthesized!(content in meta.input);
                    content.parse::<TokenStream>()?;
                    None
                } else {
                    None
                };
                let text = match value {
                    Some(syn::Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Str(s),
                        ..
                    })) => Some(s.value()),
                    _ => None,
                };
                match key.as_str() {
                    "rename" => out.rename = text,
                    "rename_all" => out.rename_all = text,
                    "default" => {
                        out.default = match text {
                            Some(path) => {
                                syn::parse_str::<Path>(&path).ok().map(SerdeDefault::Path)
                            }
                            None => Some(SerdeDefault::Trait),
                        }
                    }
                    "skip" | "skip_deserializing" => out.skip = true,
                    _ => {}
                }
                Ok(())
            });
        }
        out
    }
}
