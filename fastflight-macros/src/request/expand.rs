//! The `FlightRequest` impl, and the typed client stub: a trait `<Type>Client` with one
//! method, implemented for every client.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;

use super::attr::ValidateHook;
use super::model::Request;

pub fn expand(model: &Request<'_>) -> TokenStream {
    let imp = flight_request_impl(model);
    let stub = stub(model);
    quote! {
        const _: () = {
            #imp
        };
        #stub
    }
}

fn flight_request_impl(model: &Request<'_>) -> TokenStream {
    let ident = model.ident;
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
                    let name = format_ident!("__fastflight_default_{}", i);
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
    let declared = match &model.rows {
        Some(row) => quote_spanned!(row.span()=> #private::RowsOf<#row>),
        None => quote!(#private::AnyRows),
    };
    let validate = match &model.validate {
        None => quote!(::core::result::Result::Ok(())),
        Some(ValidateHook::Trait) => quote!(<Self as #private::Validate>::validate(self)),
        Some(ValidateHook::Path(path)) => quote_spanned! {path.span()=>
            ::core::result::Result::map_err(#path(self), |e| ::std::string::ToString::to_string(&e))
        },
    };
    quote! {
        #[automatically_derived]
        impl #private::DeclaredRows for #ident {
            type Rows = #declared;
        }

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
    }
}

fn stub(model: &Request<'_>) -> TokenStream {
    let private = quote!(::fastflight::__private);
    let ident = model.ident;
    let vis = model.vis;
    let trait_ident = format_ident!("{}Client", ident, span = ident.span());
    let method = syn::Ident::new(&model.method.name, model.method.span);
    if let Some(row) = &model.rows {
        let row_name = crate::names::compact(&row.to_token_stream());
        let trait_doc = format!(
            "The typed client stub of [`{ident}`]: `client.{method}(request)` on a `fastflight::Client` (a future of a `RowStream<{row_name}>`) or a `fastflight::blocking::Client` (an iterator of `{row_name}` rows)."
        );
        let method_doc = format!(
            "Fetches the result of a [`{ident}`] request as `{row_name}` rows (the result's schema checked against the row type first)."
        );
        return quote! {
            #[doc = #trait_doc]
            #vis trait #trait_ident: #private::FetchRows {
                #[doc = #method_doc]
                fn #method(&self, request: #ident) -> <Self as #private::FetchRows>::Rows<#row> {
                    #private::fetch_rows::<Self, #ident, #row>(self, request)
                }
            }

            #[automatically_derived]
            impl<__C: #private::FetchRows + ?::core::marker::Sized> #trait_ident for __C {}
        };
    }
    let trait_doc = format!(
        "The typed client stub of [`{ident}`]: `client.{method}(request)` on a `fastflight::Client` (a future of the result's batch stream) or a `fastflight::blocking::Client` (an iterator of batches)."
    );
    let method_doc = format!("Fetches the result of a [`{ident}`] request.");
    quote! {
        #[doc = #trait_doc]
        #vis trait #trait_ident: #private::FetchRequest {
            #[doc = #method_doc]
            fn #method(&self, request: #ident) -> <Self as #private::FetchRequest>::Output {
                #private::fetch(self, request)
            }
        }

        #[automatically_derived]
        impl<__C: #private::FetchRequest + ?::core::marker::Sized> #trait_ident for __C {}
    }
}
