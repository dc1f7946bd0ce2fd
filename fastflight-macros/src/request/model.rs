//! The typed model of one request struct.

use proc_macro2::{Span, TokenStream};
use quote::{quote, ToTokens};
use syn::{Data, DeriveInput, Fields, Ident, LitStr, Type, Visibility};

use super::attr::{Flight, Serde, SerdeDefault, ValidateHook};
use crate::ctxt::Ctxt;
use crate::names::{compact, rename, snake};

pub struct Request<'a> {
    pub input: &'a DeriveInput,
    pub ident: &'a Ident,
    pub vis: &'a Visibility,
    /// `#[flight(name = "...")]`; the Rust path of the type without it.
    pub name: Option<LitStr>,
    pub validate: Option<ValidateHook>,
    /// The stub's method: `#[flight(method = "...")]`, or the type's name in snake_case.
    pub method: Method,
    pub fields: Vec<Field>,
    /// `#[flight(rows = T)]`: the result's row type.
    pub rows: Option<syn::Type>,
}

pub struct Method {
    pub name: String,
    /// The `method = "..."` literal, or the type's ident.
    pub span: Span,
    pub renamed: bool,
}

pub struct Field {
    pub wire_name: String,
    pub ty: String,
    pub required: bool,
    /// An expression of the value a left-out field takes, if it has one.
    pub default: Option<TokenStream>,
}

impl<'a> Request<'a> {
    pub fn from_ast(cx: &Ctxt, input: &'a DeriveInput) -> Self {
        let flight = Flight::from_attrs(cx, &input.attrs);
        let container = Serde::from_attrs(&input.attrs);
        let fields = match &input.data {
            Data::Struct(data) => match &data.fields {
                Fields::Named(named) => named
                    .named
                    .iter()
                    .filter_map(|f| field(&input.ident, f, &container))
                    .collect(),
                _ => Vec::new(),
            },
            _ => Vec::new(),
        };
        let method = match &flight.method {
            Some(lit) => Method {
                name: lit.value(),
                span: lit.span(),
                renamed: true,
            },
            None => Method {
                name: snake(&input.ident.to_string()),
                span: input.ident.span(),
                renamed: false,
            },
        };
        Request {
            input,
            ident: &input.ident,
            vis: &input.vis,
            name: flight.name,
            validate: flight.validate,
            method,
            fields,
            rows: flight.rows,
        }
    }
}

fn field(owner: &Ident, field: &syn::Field, container: &Serde) -> Option<Field> {
    let attrs = Serde::from_attrs(&field.attrs);
    if attrs.skip {
        return None;
    }
    let field_ident = field.ident.as_ref()?;
    let ty = &field.ty;
    let default = match (&attrs.default, &container.default) {
        (Some(SerdeDefault::Trait), _) => {
            Some(quote!(<#ty as ::core::default::Default>::default()))
        }
        (Some(SerdeDefault::Path(path)), _) => Some(quote!(#path())),
        (None, Some(SerdeDefault::Trait)) => {
            Some(quote!(<#owner as ::core::default::Default>::default().#field_ident))
        }
        (None, Some(SerdeDefault::Path(path))) => Some(quote!(#path().#field_ident)),
        (None, None) if is_option(ty) => Some(quote!(::core::option::Option::<()>::None)),
        (None, None) => None,
    };
    let ident = field_ident.to_string();
    let ident = ident.strip_prefix("r#").unwrap_or(&ident).to_owned();
    let wire_name = attrs
        .rename
        .or_else(|| {
            container
                .rename_all
                .as_deref()
                .and_then(|rule| rename(rule, &ident))
        })
        .unwrap_or(ident);
    Some(Field {
        wire_name,
        ty: compact(&field.ty.to_token_stream()),
        required: default.is_none(),
        default,
    })
}

fn is_option(ty: &Type) -> bool {
    match ty {
        Type::Path(p) => p.path.segments.last().is_some_and(|s| s.ident == "Option"),
        _ => false,
    }
}
