//! The `#[arrow(..)]` attributes: on the type `rename_all = ".."`; on a field
//! `rename = ".."`, `skip`, `dictionary`, `unit = "s" | "ms" | "us" | "ns"` and
//! `scale = N` and `with = Conversion`; on a variant `rename = ".."`. serde's `rename` and
//! `rename_all` are read too (`#[arrow(..)]` wins).

use syn::{Attribute, LitStr, Path};

use crate::ctxt::Ctxt;

/// The type's attributes.
#[derive(Default)]
pub struct Container {
    pub rename_all: Option<LitStr>,
}

/// A field's or a variant's attributes.
#[derive(Default)]
pub struct Field {
    pub rename: Option<LitStr>,
    pub skip: Option<Path>,
    pub dictionary: Option<Path>,
    pub unit: Option<LitStr>,
    pub with: Option<Path>,
    pub scale: Option<syn::LitInt>,
}

const CONTAINER_KEYS: &str = "expected `rename_all = \"..\"`";
const FIELD_KEYS: &str = "expected `rename = \"..\"`, `skip`, `dictionary`, `unit = \"s\" | \"ms\" | \"us\" | \"ns\"`, `scale = N` or `with = Conversion`";

impl Container {
    pub fn parse(cx: &Ctxt, attrs: &[Attribute]) -> Self {
        let mut out = Container::default();
        for attr in attrs.iter().filter(|a| a.path().is_ident("arrow")) {
            let parsed = attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("rename_all") {
                    let value: LitStr = meta.value()?.parse()?;
                    if out.rename_all.replace(value).is_some() {
                        cx.error_spanned_by(&meta.path, "duplicate `rename_all`");
                    }
                    Ok(())
                } else {
                    Err(meta.error(format!(
                        "unknown #[arrow] argument on the type; {CONTAINER_KEYS}"
                    )))
                }
            });
            if let Err(e) = parsed {
                cx.syn_error(e);
            }
        }
        out
    }
}

impl Field {
    pub fn parse(cx: &Ctxt, attrs: &[Attribute]) -> Self {
        let mut out = Field::default();
        for attr in attrs.iter().filter(|a| a.path().is_ident("arrow")) {
            let parsed = attr.parse_nested_meta(|meta| {
                let duplicate =
                    |what: &str| cx.error_spanned_by(&meta.path, format!("duplicate `{what}`"));
                if meta.path.is_ident("rename") {
                    let value: LitStr = meta.value()?.parse()?;
                    if out.rename.replace(value).is_some() {
                        duplicate("rename");
                    }
                } else if meta.path.is_ident("unit") {
                    let value: LitStr = meta.value()?.parse()?;
                    if out.unit.replace(value).is_some() {
                        duplicate("unit");
                    }
                } else if meta.path.is_ident("scale") {
                    let value: syn::LitInt = meta.value()?.parse()?;
                    if out.scale.replace(value).is_some() {
                        duplicate("scale");
                    }
                } else if meta.path.is_ident("with") {
                    let value: Path = meta.value()?.parse()?;
                    if out.with.replace(value).is_some() {
                        duplicate("with");
                    }
                } else if meta.path.is_ident("skip") {
                    if out.skip.replace(meta.path.clone()).is_some() {
                        duplicate("skip");
                    }
                } else if meta.path.is_ident("dictionary") {
                    if out.dictionary.replace(meta.path.clone()).is_some() {
                        duplicate("dictionary");
                    }
                } else {
                    return Err(meta.error(format!("unknown #[arrow] argument; {FIELD_KEYS}")));
                }
                Ok(())
            });
            if let Err(e) = parsed {
                cx.syn_error(e);
            }
        }
        out
    }
}
