//! `#[derive(FlightRequest)]`: parse → model → expand.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{Attribute, Data, DeriveInput, Fields, Ident, LitStr, Path, Token, Type};

use crate::names::{compact, rename};

/// The typed model of one request struct.
struct Request {
    ident: Ident,
    name: Option<LitStr>,
    validate: ValidateHook,
    fields: Vec<Field>,
}

enum ValidateHook {
    None,
    Trait,
    Path(Path),
}

struct Field {
    wire_name: String,
    ty: String,
    required: bool,
    /// An expression of the value a left-out field takes, if it has one.
    default: Option<TokenStream>,
}

/// A serde `default`: `#[serde(default)]` or `#[serde(default = "path")]`.
#[derive(Clone)]
enum SerdeDefault {
    Trait,
    Path(Path),
}

pub fn derive(input: TokenStream) -> TokenStream {
    match syn::parse2::<DeriveInput>(input).and_then(parse) {
        Ok(model) => expand(&model),
        Err(errors) => errors.to_compile_error(),
    }
}

/// Collects errors so the user sees all of them at once.
#[derive(Default)]
struct Errors(Option<syn::Error>);

impl Errors {
    fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }
    fn finish<T>(self, value: T) -> syn::Result<T> {
        match self.0 {
            Some(e) => Err(e),
            None => Ok(value),
        }
    }
}

fn parse(input: DeriveInput) -> syn::Result<Request> {
    let mut errors = Errors::default();
    if !input.generics.params.is_empty() || input.generics.where_clause.is_some() {
        errors.push(syn::Error::new_spanned(
            &input.generics,
            "a FlightRequest cannot be generic: its registered name must name exactly one type",
        ));
    }
    let (name, validate) = parse_flight_attrs(&input.attrs, &mut errors);
    let container = SerdeAttrs::of(&input.attrs);
    let fields = match &input.data {
        Data::Struct(data) => match &data.fields {
            Fields::Named(named) => named
                .named
                .iter()
                .filter_map(|f| field_model(&input.ident, f, &container))
                .collect(),
            Fields::Unnamed(_) | Fields::Unit => {
                errors.push(syn::Error::new_spanned(
                    &input.ident,
                    "FlightRequest needs a struct with named fields: a ticket is a JSON object whose keys are the field names",
                ));
                Vec::new()
            }
        },
        Data::Enum(e) => {
            errors.push(syn::Error::new(
                e.enum_token.span,
                "FlightRequest can only be derived for a struct with named fields, not an enum",
            ));
            Vec::new()
        }
        Data::Union(u) => {
            errors.push(syn::Error::new(
                u.union_token.span,
                "FlightRequest can only be derived for a struct with named fields, not a union",
            ));
            Vec::new()
        }
    };
    errors.finish(Request {
        ident: input.ident,
        name,
        validate,
        fields,
    })
}

fn parse_flight_attrs(attrs: &[Attribute], errors: &mut Errors) -> (Option<LitStr>, ValidateHook) {
    let mut name: Option<LitStr> = None;
    let mut validate: Option<ValidateHook> = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident("flight")) {
        let result = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("name") {
                let lit: LitStr = meta.value()?.parse()?;
                if lit.value().trim().is_empty() {
                    return Err(syn::Error::new_spanned(&lit, "the registered name must not be empty"));
                }
                if name.replace(lit).is_some() {
                    return Err(meta.error("duplicate `name` in #[flight(...)]"));
                }
                Ok(())
            } else if meta.path.is_ident("validate") {
                let hook = if meta.input.peek(Token![=]) {
                    ValidateHook::Path(meta.value()?.parse()?)
                } else {
                    ValidateHook::Trait
                };
                if validate.replace(hook).is_some() {
                    return Err(meta.error("duplicate `validate` in #[flight(...)]"));
                }
                Ok(())
            } else {
                Err(meta.error(format!(
                    "unknown #[flight] key `{}`; expected `name = \"...\"` or `validate` / `validate = path::to::fn`",
                    meta.path.to_token_stream()
                )))
            }
        });
        if let Err(e) = result {
            errors.push(e);
        }
    }
    (name, validate.unwrap_or(ValidateHook::None))
}

/// The serde attributes that change a field's wire name or make it optional.
#[derive(Default)]
struct SerdeAttrs {
    rename: Option<String>,
    rename_all: Option<String>,
    default: Option<SerdeDefault>,
    skip: bool,
}

impl SerdeAttrs {
    fn of(attrs: &[Attribute]) -> Self {
        let mut out = SerdeAttrs::default();
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

fn field_model(owner: &Ident, field: &syn::Field, container: &SerdeAttrs) -> Option<Field> {
    let attrs = SerdeAttrs::of(&field.attrs);
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

fn expand(model: &Request) -> TokenStream {
    let ident = &model.ident;
    let private = quote!(::fastflight::__private);
    let name = match &model.name {
        Some(lit) => lit.to_token_stream(),
        None => quote!(::core::concat!(
            ::core::module_path!(),
            "::",
            ::core::stringify!(#ident)
        )),
    };
    let mut default_fns = Vec::new();
    let fields: Vec<TokenStream> = model
        .fields
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let (wire, ty, required) = (&f.wire_name, &f.ty, f.required);
            let default = match &f.default {
                Some(value) => {
                    let name = quote::format_ident!("__fastflight_default_{}", i);
                    default_fns.push(quote! {
                        fn #name() -> #private::Value {
                            #private::json_value(#value)
                        }
                    });
                    quote!(::core::option::Option::Some(#name))
                }
                None => quote!(::core::option::Option::None),
            };
            quote!(#private::FieldInfo { name: #wire, ty: #ty, required: #required, default: #default })
        })
        .collect();
    let validate = match &model.validate {
        ValidateHook::None => quote!(::core::result::Result::Ok(())),
        ValidateHook::Trait => quote!(<Self as #private::Validate>::validate(self)),
        ValidateHook::Path(path) => quote_spanned! {path.span()=>
            ::core::result::Result::map_err(#path(self), |e| ::std::string::ToString::to_string(&e))
        },
    };
    quote! {
        const _: () = {
            #[automatically_derived]
            impl #private::FlightRequest for #ident {
                const NAME: &'static str = #name;

                fn fields() -> &'static [#private::FieldInfo] {
                    #(#default_fns)*
                    const FIELDS: &[#private::FieldInfo] = &[#(#fields),*];
                    FIELDS
                }

                fn validate(&self) -> ::core::result::Result<(), ::std::string::String> {
                    #validate
                }
            }
        };
    }
}
