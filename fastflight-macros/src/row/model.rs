//! The typed model of an `ArrowRow`: a struct's columns (name, type, attributes) or a
//! unit-only enum's variants (their names as stored).

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields, Generics, Ident, Type};

use super::attr;
use crate::ctxt::Ctxt;
use crate::names::{rename, rename_variant};
use crate::request::attr::Serde;

pub struct Row<'a> {
    pub ident: &'a Ident,
    pub generics: &'a Generics,
    pub kind: Kind<'a>,
}

pub enum Kind<'a> {
    /// A struct with named fields.
    Struct(Vec<Column<'a>>),
    /// An enum.
    Enum(Vec<Variant<'a>>),
    /// Anything else (refused by the checks).
    Other(Span, &'static str),
}

/// One field of a struct.
pub struct Column<'a> {
    pub member: &'a Ident,
    pub ty: &'a Type,
    /// Its column's name.
    pub name: String,
    pub attrs: attr::Field,
}

/// One variant of an enum.
pub struct Variant<'a> {
    pub ident: &'a Ident,
    /// Its name in the dictionary.
    pub name: String,
    /// Where its fields are, when it has some.
    pub fields: Option<Span>,
}

impl<'a> Row<'a> {
    pub fn from_ast(cx: &Ctxt, input: &'a DeriveInput) -> Self {
        let container = attr::Container::parse(cx, &input.attrs);
        let serde = Serde::from_attrs(&input.attrs);
        let rule = container
            .rename_all
            .as_ref()
            .map(|lit| (lit.value(), lit.span()))
            .or_else(|| serde.rename_all.map(|rule| (rule, input.ident.span())));
        let known = |rule: &str, span: Span| {
            let ok = rename(rule, "a_b").is_some();
            if !ok {
                cx.error_spanned_by(
                    quote::quote_spanned!(span=> rename_all),
                    format!("unknown `rename_all` rule `{rule}`; expected one of lowercase, UPPERCASE, PascalCase, camelCase, snake_case, SCREAMING_SNAKE_CASE, kebab-case, SCREAMING-KEBAB-CASE"),
                );
            }
            ok
        };
        let rule = rule
            .filter(|(rule, span)| known(rule, *span))
            .map(|(r, _)| r);
        let kind = match &input.data {
            Data::Struct(data) => match &data.fields {
                Fields::Named(named) => Kind::Struct(
                    named
                        .named
                        .iter()
                        .filter_map(|field| {
                            let member = field.ident.as_ref()?;
                            let attrs = attr::Field::parse(cx, &field.attrs);
                            let serde = Serde::from_attrs(&field.attrs);
                            let plain = member.to_string();
                            let plain = plain.strip_prefix("r#").unwrap_or(&plain).to_owned();
                            let name = attrs
                                .rename
                                .as_ref()
                                .map(syn::LitStr::value)
                                .or(serde.rename)
                                .or_else(|| rule.as_deref().and_then(|r| rename(r, &plain)))
                                .unwrap_or(plain);
                            Some(Column {
                                member,
                                ty: &field.ty,
                                name,
                                attrs,
                            })
                        })
                        .collect(),
                ),
                Fields::Unnamed(fields) => Kind::Other(
                    fields.span(),
                    "an ArrowRow is a struct with named fields (each a column): name the fields",
                ),
                Fields::Unit => Kind::Other(
                    input.ident.span(),
                    "an ArrowRow is a struct with named fields (each a column), or a unit-only enum",
                ),
            },
            Data::Enum(data) => Kind::Enum(
                data.variants
                    .iter()
                    .map(|variant| {
                        let attrs = attr::Field::parse(cx, &variant.attrs);
                        let serde = Serde::from_attrs(&variant.attrs);
                        let plain = variant.ident.to_string();
                        let name = attrs
                            .rename
                            .as_ref()
                            .map(syn::LitStr::value)
                            .or(serde.rename)
                            .or_else(|| rule.as_deref().and_then(|r| rename_variant(r, &plain)))
                            .unwrap_or(plain);
                        Variant {
                            ident: &variant.ident,
                            name,
                            fields: (!variant.fields.is_empty()).then(|| variant.fields.span()),
                        }
                    })
                    .collect(),
            ),
            Data::Union(data) => Kind::Other(
                data.union_token.span(),
                "an ArrowRow is a struct with named fields, or a unit-only enum, not a union",
            ),
        };
        Row {
            ident: &input.ident,
            generics: &input.generics,
            kind,
        }
    }
}
