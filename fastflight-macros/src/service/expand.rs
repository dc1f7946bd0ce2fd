//! The service's registry entry: an `invoke` function that takes the decoded request
//! and the further arguments and starts the handler, submitted to `inventory`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;

use super::model::{Returns, Service};
use crate::names::compact;

pub fn expand(model: &Service<'_>) -> TokenStream {
    let private = quote!(::fastflight::__private);
    let func = model.func;
    let name = &func.sig.ident;
    let Some(request) = model.request else {
        // The checks refused a service without a request already.
        return quote!(#func);
    };
    let blocking = model.args.blocking;
    let request_name = compact(&request.to_token_stream());

    let request_var = format_ident!("__fastflight_request");
    let mut bindings = vec![quote_spanned! {request.span()=>
        let #request_var: #request = #private::request::<#request>(__request)?;
    }];
    let mut call_args = vec![request_var];
    for (i, ty) in model.extras.iter().enumerate() {
        let var = format_ident!("__fastflight_arg{}", i);
        bindings.push(quote_spanned! {ty.span()=>
            let #var: #ty = (#private::argument::<#ty>().take)(&__ctx, __states)?;
        });
        call_args.push(var);
    }
    let states = model.extras.iter().map(|ty| {
        quote_spanned! {ty.span()=> (#private::argument::<#ty>().state)() }
    });

    let batching = match &model.args.batch_rows {
        Some(rows) => quote!(#private::Batching::rows(#rows)),
        None => quote!(<#private::Batching as ::core::default::Default>::default()),
    };
    let convert = match (&model.returns, blocking) {
        (Returns::Result, false) => quote!(stream_of_result),
        (_, false) => quote!(stream_of),
        (Returns::Result, true) => quote!(iter_of_result),
        (_, true) => quote!(iter_of),
    };
    // The returned value is named with the return type's span, so a shape error points there.
    let out = quote_spanned!(model.return_span=> __fastflight_returned);
    let run = if blocking {
        quote! {
            ::core::result::Result::Ok(#private::ready(#private::run_blocking(
                move || {
                    let #out = #name(#(#call_args),*);
                    #private::#convert(__HANDLER, #batching, #out)
                },
            )))
        }
    } else {
        quote! {
            ::core::result::Result::Ok(#private::boxed(async move {
                let #out = #name(#(#call_args),*).await;
                #private::#convert(__HANDLER, #batching, #out)
            }))
        }
    };

    // The schema the return type declares (a row type's), read from the type alone: the
    // function is named in a closure that is never called. It also checks that a request
    // declaring its rows is served by a service yielding them.
    let (probe, inferred) = match (&model.returns, blocking) {
        (Returns::Result, false) => (quote!(schema_of_stream_result), 5),
        (_, false) => (quote!(schema_of_stream), 4),
        (Returns::Result, true) => (quote!(schema_of_iter_result), 4),
        (_, true) => (quote!(schema_of_iter), 3),
    };
    let inferred = (0..inferred).map(|_| quote!(_));
    let never = (0..1 + model.extras.len()).map(|_| quote!(::core::unreachable!()));
    let declared = quote_spanned! {model.return_span=>
        #private::#probe::<#request, #(#inferred),*>(|| #name(#(#never),*))
    };
    let explicit = match &model.args.schema {
        Some(path) => quote_spanned! {path.span()=>
            ::core::option::Option::Some(::core::convert::Into::into(#path()))
        },
        None => quote!(::core::option::Option::None),
    };
    let schema = quote! {{
        #[allow(unreachable_code, unused_variables, clippy::diverging_sub_expression)]
        fn __fastflight_schema() -> ::core::option::Option<#private::SchemaRef> {
            let declared: ::core::option::Option<#private::SchemaRef> = #declared;
            ::core::option::Option::or(#explicit, declared)
        }
        __fastflight_schema
    }};
    let ordered = model.args.ordered.is_some();
    let partitions = match &model.args.partitions {
        Some(path) => quote_spanned! {path.span()=>
            ::core::option::Option::Some({
                fn __fastflight_partitions(
                    __request: &#private::Decoded,
                ) -> #private::Result<::std::vec::Vec<#private::Bytes>> {
                    #private::partitions::<#request>(__request, #path)
                }
                __fastflight_partitions
            })
        },
        None => quote!(::core::option::Option::None),
    };
    let request_type = quote_spanned!(request.span()=> #private::request_type::<#request>);
    let roles = model.args.roles.iter().flatten();
    let open_without_auth = model.args.open_without_auth.is_some();
    let authorize = match &model.args.authorize {
        Some(path) => quote_spanned! {path.span()=>
            ::core::option::Option::Some({
                fn __fastflight_authorize(
                    __who: &#private::Identity,
                    __request: &#private::Decoded,
                ) -> #private::Result<()> {
                    #private::authorize::<#request, _>(__who, __request, #path)
                }
                __fastflight_authorize
            })
        },
        None => quote!(::core::option::Option::None),
    };

    let one_service = format_ident!(
        "__fastflight_one_service_per_request_type__{}",
        request_name.replace(|c: char| !c.is_alphanumeric(), "_"),
        span = request.span()
    );
    let location =
        quote_spanned!(name.span()=> ::core::concat!(::core::file!(), ":", ::core::line!()));

    // Invoked at the function's name, so `line!()` gives the line of the name.
    let invoke =
        quote_spanned!(name.span()=> data_service_goes_on_a_free_function_at_module_level! {});
    // The entry is written by a local macro: at module level it expands at once; inside
    // an `impl` block a macro cannot be defined, so the compiler's error names the rule.
    quote! {
        #func

        #[doc(hidden)]
        #[allow(non_upper_case_globals, dead_code)]
        const #one_service: () = ();

        macro_rules! data_service_goes_on_a_free_function_at_module_level {
            () => {
                const _: () = {
                    const __HANDLER: &str = ::core::concat!(::core::module_path!(), "::", ::core::stringify!(#name));

                    #[allow(clippy::unnecessary_wraps, unused_variables)]
                    fn __fastflight_invoke(
                        __request: #private::Decoded,
                        __ctx: #private::Context,
                        __states: &#private::States,
                    ) -> #private::Result<#private::BoxFuture<'static, #private::Result<#private::BatchStream>>> {
                        #(#bindings)*
                        #run
                    }

                    fn __fastflight_states() -> ::std::vec::Vec<(#private::TypeId, &'static str)> {
                        let states: ::std::vec::Vec<::core::option::Option<(#private::TypeId, &'static str)>> =
                            ::std::vec![#(#states),*];
                        ::core::iter::Iterator::collect(::core::iter::Iterator::flatten(
                            ::core::iter::IntoIterator::into_iter(states),
                        ))
                    }

                    #private::inventory::submit! {
                        #private::ServiceEntry {
                            request: #request_type,
                            request_type: #request_name,
                            handler: __HANDLER,
                            location: #location,
                            states: __fastflight_states,
                            schema: #schema,
                            blocking: #blocking,
                            roles: &[#(#roles),*],
                            authorize: #authorize,
                            open_without_auth: #open_without_auth,
                            partitions: #partitions,
                            ordered: #ordered,
                            invoke: __fastflight_invoke,
                        }
                    }
                };
            };
        }
        #invoke
    }
}
