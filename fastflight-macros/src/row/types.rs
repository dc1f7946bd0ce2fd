//! A field's type read as written: `Option<T>` and `Vec<T>` peeled, and the codec of
//! what is left (its own, or the one an attribute chooses).

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{GenericArgument, PathArguments, Type};

use super::attr;

/// `T` of `Option<T>` (`wrapper = "Option"`) or `Vec<T>`.
fn argument<'a>(ty: &'a Type, wrapper: &str) -> Option<&'a Type> {
    let Type::Path(path) = ty else {
        return None;
    };
    if path.qself.is_some() {
        return None;
    }
    let last = path.path.segments.last()?;
    if last.ident != wrapper {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.iter().collect::<Vec<_>>()[..] {
        [GenericArgument::Type(inner)] => Some(inner),
        _ => None,
    }
}

fn is_u8(ty: &Type) -> bool {
    matches!(ty, Type::Path(p) if p.qself.is_none() && p.path.is_ident("u8"))
}

/// The last name of the type under its `Option`s and `Vec`s: `String` of
/// `Option<Vec<String>>`.
pub fn leaf(ty: &Type) -> String {
    if let Some(inner) = argument(ty, "Option") {
        return leaf(inner);
    }
    if let Some(inner) = argument(ty, "Vec").filter(|t| !is_u8(t)) {
        return leaf(inner);
    }
    match ty {
        Type::Path(p) => p
            .path
            .segments
            .last()
            .map(|s| s.ident.to_string())
            .unwrap_or_default(),
        _ => String::new(),
    }
}

/// The codec of a field.
pub fn codec(ty: &Type, attrs: &attr::Field) -> TokenStream {
    if let Some(with) = &attrs.with {
        return quote_spanned!(with.span()=> ::fastflight::rows::codec::Via<#with>);
    }
    leaf_codec(ty, attrs)
}

fn leaf_codec(ty: &Type, attrs: &attr::Field) -> TokenStream {
    if let Some(inner) = argument(ty, "Option") {
        let inner = leaf_codec(inner, attrs);
        return quote!(::fastflight::rows::codec::Nullable<#inner>);
    }
    if let Some(inner) = argument(ty, "Vec").filter(|t| !is_u8(t)) {
        let inner = leaf_codec(inner, attrs);
        return quote!(::fastflight::rows::codec::List<#inner>);
    }
    if attrs.dictionary.is_some() {
        return quote!(::fastflight::rows::codec::DictionaryUtf8);
    }
    if let Some(scale) = attrs
        .scale
        .as_ref()
        .and_then(|s| s.base10_parse::<u32>().ok())
    {
        let scale = proc_macro2::Literal::u32_unsuffixed(scale);
        return quote_spanned!(ty.span()=> <#ty as ::fastflight::rows::decimal::AtScale<#scale>>::Codec);
    }
    if let Some(unit) = &attrs.unit {
        let unit = match unit.value().as_str() {
            "s" => quote!(Seconds),
            "ms" => quote!(Millis),
            "ns" => quote!(Nanos),
            _ => quote!(Micros),
        };
        return quote_spanned!(ty.span()=> <#ty as ::fastflight::rows::time::InUnit<::fastflight::rows::time::#unit>>::Codec);
    }
    quote_spanned!(ty.span()=> <#ty as ::fastflight::rows::ArrowField>::Codec)
}
