//! The rules an `ArrowRow` must follow, each an error on the offending tokens.

use std::collections::HashMap;

use super::model::{Kind, Row};
use super::types::leaf;
use crate::ctxt::Ctxt;

pub const UNITS: [&str; 4] = ["s", "ms", "us", "ns"];

pub fn check(cx: &Ctxt, model: &Row<'_>) {
    if !model.generics.params.is_empty() {
        cx.error_spanned_by(
            model.generics,
            "an ArrowRow cannot be generic: its schema is fixed at compile time; name the field types",
        );
    }
    match &model.kind {
        Kind::Other(span, message) => {
            cx.error_spanned_by(quote::quote_spanned!(*span=> x), message)
        }
        Kind::Struct(columns) => {
            let kept: Vec<_> = columns.iter().filter(|c| c.attrs.skip.is_none()).collect();
            if kept.is_empty() {
                cx.error_spanned_by(
                    model.ident,
                    "an ArrowRow needs at least one field that is not `#[arrow(skip)]`: each field is a column",
                );
            }
            let mut seen: HashMap<&str, &syn::Ident> = HashMap::new();
            for column in &kept {
                if let Some(first) = seen.insert(&column.name, column.member) {
                    cx.error_spanned_by(
                        column.member,
                        format!(
                            "two fields are the column `{}` (`{first}` and `{}`): rename one with #[arrow(rename = \"..\")]",
                            column.name, column.member
                        ),
                    );
                }
                if column.name.is_empty() {
                    cx.error_spanned_by(column.member, "a column's name cannot be empty");
                }
            }
            for column in columns {
                let a = &column.attrs;
                if let Some(skip) = &a.skip {
                    if a.rename.is_some()
                        || a.dictionary.is_some()
                        || a.unit.is_some()
                        || a.with.is_some()
                        || a.scale.is_some()
                    {
                        cx.error_spanned_by(
                            skip,
                            "a skipped field is no column: remove `skip` or the other #[arrow] arguments",
                        );
                    }
                    continue;
                }
                if let Some(scale) = &a.scale {
                    if !scale.base10_parse::<u32>().is_ok_and(|s| s <= 28) {
                        cx.error_spanned_by(
                            scale,
                            "`scale` takes the decimals of a decimal column, 0 to 28",
                        );
                    }
                    if leaf(column.ty) != "Decimal" {
                        cx.error_spanned_by(
                            scale,
                            format!(
                                "`scale` is for `rust_decimal::Decimal` fields, not `{}`",
                                crate::names::compact(&quote::ToTokens::to_token_stream(column.ty))
                            ),
                        );
                    }
                    if a.dictionary.is_some() || a.unit.is_some() {
                        cx.error_spanned_by(
                            scale,
                            "`scale` does not go with `dictionary` or `unit`",
                        );
                    }
                }
                if let Some(with) = &a.with {
                    if a.dictionary.is_some() || a.unit.is_some() || a.scale.is_some() {
                        cx.error_spanned_by(
                            with,
                            "`with` chooses the whole column type: it does not go with `dictionary`, `unit` or `scale`",
                        );
                    }
                }
                if let Some(dictionary) = &a.dictionary {
                    if leaf(column.ty) != "String" {
                        cx.error_spanned_by(
                            dictionary,
                            format!(
                                "`dictionary` is for `String` fields (or `Option<String>`, `Vec<String>`), not `{}`; a unit-only enum deriving ArrowRow is a dictionary column already",
                                crate::names::compact(&quote::ToTokens::to_token_stream(column.ty))
                            ),
                        );
                    }
                    if a.unit.is_some() {
                        cx.error_spanned_by(
                            dictionary,
                            "`dictionary` and `unit` do not go together",
                        );
                    }
                }
                if let Some(unit) = &a.unit {
                    if !UNITS.contains(&unit.value().as_str()) {
                        cx.error_spanned_by(
                            unit,
                            format!(
                                "unknown unit `{}`; expected \"s\", \"ms\", \"us\" or \"ns\"",
                                unit.value()
                            ),
                        );
                    }
                }
            }
        }
        Kind::Enum(variants) => {
            if variants.is_empty() {
                cx.error_spanned_by(
                    model.ident,
                    "an enum deriving ArrowRow needs at least one variant",
                );
            }
            if variants.len() > i16::MAX as usize {
                cx.error_spanned_by(
                    model.ident,
                    "an enum deriving ArrowRow has at most 32,767 variants",
                );
            }
            let mut seen: HashMap<&str, &syn::Ident> = HashMap::new();
            for variant in variants {
                if let Some(span) = variant.fields {
                    cx.error_spanned_by(
                        quote::quote_spanned!(span=> x),
                        format!(
                            "an enum deriving ArrowRow is stored as its variants' names: `{}` cannot hold fields",
                            variant.ident
                        ),
                    );
                }
                if let Some(first) = seen.insert(&variant.name, variant.ident) {
                    cx.error_spanned_by(
                        variant.ident,
                        format!(
                            "two variants are named `{}` (`{first}` and `{}`)",
                            variant.name, variant.ident
                        ),
                    );
                }
            }
        }
    }
}
