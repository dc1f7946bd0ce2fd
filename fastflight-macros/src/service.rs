//! `#[data_service]`: parse → model → expand.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{
    Expr, FnArg, GenericArgument, ItemFn, Meta, Path, PathArguments, ReturnType, Token, Type,
};

use crate::names::{camel, compact};

const SHAPES: &str = "accepted shapes: `async fn f(req: R) -> impl Stream<Item = Result<RecordBatch, E>>` or `-> Result<S, E>` of such a stream (e.g. `fastflight::Result<BatchStream>`), with #[data_service(blocking)] a plain `fn` returning an iterator of `Result<RecordBatch, E>` or a `Result` of one; besides the one request argument `R` (a FlightRequest), a service may take `ctx: Context` and any number of `State<T>`";

/// The attribute's arguments.
#[derive(Default)]
struct Args {
    blocking: bool,
    schema: Option<Path>,
}

/// One parameter of the service function.
enum Param {
    Request(Type),
    Context,
    State(Type),
}

/// How the function returns its batches.
enum Returns {
    Plain,
    Result,
}

/// The typed model of one service.
struct Service {
    func: ItemFn,
    args: Args,
    params: Vec<Param>,
    request: Type,
    returns: Returns,
    return_span: Span,
}

pub fn attribute(args: TokenStream, item: TokenStream) -> TokenStream {
    let func = match syn::parse2::<ItemFn>(item.clone()) {
        Ok(func) => func,
        Err(_) => {
            let error = syn::Error::new_spanned(
                &item,
                format!("#[data_service] goes on a function; {SHAPES}"),
            );
            let error = error.to_compile_error();
            return quote!(#error #item);
        }
    };
    match parse(args, func.clone()) {
        Ok(model) => expand(&model),
        Err(errors) => {
            // Emit the user's function too, so one mistake does not cascade into others.
            let errors = errors.to_compile_error();
            quote!(#errors #func)
        }
    }
}

fn push(all: &mut Option<syn::Error>, error: syn::Error) {
    match all {
        Some(all) => all.combine(error),
        None => *all = Some(error),
    }
}

fn parse_args(args: TokenStream) -> syn::Result<Args> {
    let metas = syn::parse::Parser::parse2(Punctuated::<Meta, Token![,]>::parse_terminated, args)?;
    let mut out = Args::default();
    for meta in metas {
        match &meta {
            Meta::Path(p) if p.is_ident("blocking") => {
                if out.blocking {
                    return Err(syn::Error::new_spanned(p, "duplicate `blocking`"));
                }
                out.blocking = true;
            }
            Meta::NameValue(nv) if nv.path.is_ident("schema") => {
                let Expr::Path(path) = &nv.value else {
                    return Err(syn::Error::new_spanned(
                        &nv.value,
                        "`schema` takes the path of a function returning the result's schema, e.g. `schema = trades_schema`",
                    ));
                };
                if out.schema.replace(path.path.clone()).is_some() {
                    return Err(syn::Error::new_spanned(nv, "duplicate `schema`"));
                }
            }
            other => {
                return Err(syn::Error::new_spanned(
                    other,
                    "unknown #[data_service] argument; expected `blocking` and/or `schema = path::to::fn`",
                ))
            }
        }
    }
    Ok(out)
}

fn last_segment(ty: &Type) -> Option<&syn::PathSegment> {
    match ty {
        Type::Path(p) if p.qself.is_none() => p.path.segments.last(),
        _ => None,
    }
}

fn classify(ty: &Type) -> syn::Result<Param> {
    match ty {
        Type::Reference(r) => {
            return Err(syn::Error::new_spanned(
                r,
                "a #[data_service] takes its parameters by value: the request `R`, `Context` and `State<T>`",
            ))
        }
        Type::ImplTrait(t) => {
            return Err(syn::Error::new_spanned(
                t,
                "`impl Trait` is not accepted as a #[data_service] parameter: take the request type itself",
            ))
        }
        _ => {}
    }
    let Some(segment) = last_segment(ty) else {
        return Err(syn::Error::new_spanned(
            ty,
            "this parameter type is not accepted: a #[data_service] takes a request type, `Context` and `State<T>`",
        ));
    };
    if segment.ident == "Context" && segment.arguments.is_empty() {
        return Ok(Param::Context);
    }
    if segment.ident == "State" {
        let PathArguments::AngleBracketed(args) = &segment.arguments else {
            return Err(syn::Error::new_spanned(
                segment,
                "`State` needs the type of the shared value: `State<T>`, with T given to the server builder by `.state(value)`",
            ));
        };
        let types: Vec<&Type> = args
            .args
            .iter()
            .filter_map(|a| match a {
                GenericArgument::Type(t) => Some(t),
                _ => None,
            })
            .collect();
        return match types.as_slice() {
            [one] if args.args.len() == 1 => Ok(Param::State((*one).clone())),
            _ => Err(syn::Error::new_spanned(
                args,
                "`State` takes exactly one type: `State<T>`",
            )),
        };
    }
    Ok(Param::Request(ty.clone()))
}

fn parse(args: TokenStream, func: ItemFn) -> syn::Result<Service> {
    let mut errors: Option<syn::Error> = None;
    let args = match parse_args(args) {
        Ok(args) => args,
        Err(e) => {
            push(&mut errors, e);
            Args::default()
        }
    };
    let sig = &func.sig;
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        push(
            &mut errors,
            syn::Error::new_spanned(
                &sig.generics,
                "a #[data_service] function cannot be generic: it serves one request type",
            ),
        );
    }
    match (args.blocking, sig.asyncness.is_some()) {
        (false, false) => push(
            &mut errors,
            syn::Error::new_spanned(
                sig.fn_token,
                "a #[data_service] function must be `async fn`; for a blocking source write a plain `fn` under #[data_service(blocking)]",
            ),
        ),
        (true, true) => push(
            &mut errors,
            syn::Error::new_spanned(
                sig.asyncness,
                "#[data_service(blocking)] takes a plain `fn` that returns an iterator of batches; remove `async`, or remove `blocking`",
            ),
        ),
        _ => {}
    }
    let mut params = Vec::new();
    let mut request: Option<Type> = None;
    let mut has_context = false;
    let mut bad_param = false;
    for input in &sig.inputs {
        let ty = match input {
            FnArg::Receiver(r) => {
                push(
                    &mut errors,
                    syn::Error::new_spanned(
                        r,
                        "a #[data_service] is a free function, not a method: remove `self`",
                    ),
                );
                continue;
            }
            FnArg::Typed(pat) => &*pat.ty,
        };
        match classify(ty) {
            Ok(Param::Request(ty)) => {
                if let Some(first) = &request {
                    push(&mut errors, syn::Error::new_spanned(&ty, format!(
                        "a #[data_service] takes exactly one request argument, and `{}` already is it; {SHAPES}",
                        compact(&first.to_token_stream())
                    )));
                } else {
                    request = Some(ty.clone());
                }
                params.push(Param::Request(ty));
            }
            Ok(Param::Context) => {
                if has_context {
                    push(
                        &mut errors,
                        syn::Error::new_spanned(
                            ty,
                            "a #[data_service] takes `Context` at most once",
                        ),
                    );
                }
                has_context = true;
                params.push(Param::Context);
            }
            Ok(param) => params.push(param),
            Err(e) => {
                bad_param = true;
                push(&mut errors, e);
            }
        }
    }
    if request.is_none() && !bad_param {
        push(&mut errors, syn::Error::new_spanned(
            &sig.inputs,
            format!("a #[data_service] needs one request argument, e.g. `req: MyParams` where MyParams derives FlightRequest; {SHAPES}"),
        ));
    }
    let (returns, return_span) = match &sig.output {
        ReturnType::Default => {
            push(
                &mut errors,
                syn::Error::new_spanned(
                    sig,
                    format!("a #[data_service] must return its record batches; {SHAPES}"),
                ),
            );
            (Returns::Plain, Span::call_site())
        }
        ReturnType::Type(_, ty) => {
            let is_result = last_segment(ty).is_some_and(|s| s.ident == "Result");
            (
                if is_result {
                    Returns::Result
                } else {
                    Returns::Plain
                },
                ty.span(),
            )
        }
    };
    if let Some(e) = errors {
        return Err(e);
    }
    let Some(request) = request else {
        return Err(syn::Error::new_spanned(
            &sig.inputs,
            "a #[data_service] needs one request argument",
        ));
    };
    Ok(Service {
        request,
        func,
        args,
        params,
        returns,
        return_span,
    })
}

fn expand(model: &Service) -> TokenStream {
    let private = quote!(::fastflight::__private);
    let func = &model.func;
    let name = &func.sig.ident;
    let vis = &func.vis;
    let request = &model.request;
    let blocking = model.args.blocking;
    let request_name = compact(&request.to_token_stream());

    let mut bindings = Vec::new();
    let mut call_args = Vec::new();
    let mut state_types = Vec::new();
    let mut state_names = Vec::new();
    for (i, param) in model.params.iter().enumerate() {
        let var = format_ident!("__fastflight_arg{}", i);
        match param {
            Param::Request(ty) => bindings.push(quote! {
                let #var: #ty = #private::prepare::<#ty>(__fields)?;
            }),
            Param::Context => bindings.push(quote! {
                let #var: #private::Context = ::core::clone::Clone::clone(&__ctx);
            }),
            Param::State(ty) => {
                bindings.push(quote_spanned! {ty.span()=>
                    let #var: #private::State<#ty> = #private::state::<#ty>(__states)?;
                });
                state_types.push(ty);
                state_names.push(compact(&ty.to_token_stream()));
            }
        }
        call_args.push(var);
    }

    let convert = match (&model.returns, blocking) {
        (Returns::Plain, false) => quote!(stream_of),
        (Returns::Result, false) => quote!(stream_of_result),
        (Returns::Plain, true) => quote!(iter_of),
        (Returns::Result, true) => quote!(iter_of_result),
    };
    // The returned value is named with the return type's span, so a shape error points there.
    let out = quote_spanned!(model.return_span=> __fastflight_returned);
    let run = if blocking {
        quote! {
            ::core::result::Result::Ok(#private::ready(#private::run_blocking(
                __HANDLER,
                move || {
                    let #out = #name(#(#call_args),*);
                    #private::#convert(__HANDLER, #out)
                },
            )))
        }
    } else {
        quote! {
            ::core::result::Result::Ok(#private::boxed(async move {
                let #out = #name(#(#call_args),*).await;
                #private::#convert(__HANDLER, #out)
            }))
        }
    };

    let schema = match &model.args.schema {
        Some(path) => quote_spanned! {path.span()=>
            ::core::option::Option::Some({
                fn __fastflight_schema() -> #private::SchemaRef {
                    ::core::convert::Into::into(#path())
                }
                __fastflight_schema
            })
        },
        None => quote!(::core::option::Option::None),
    };

    let stub = format_ident!("{}Client", camel(&name.to_string()), span = name.span());
    let stub_doc = format!(
        "Typed client stub of the `{name}` data service: `client.{name}(request)` on a `fastflight::Client` or a `fastflight::blocking::Client`."
    );
    let one_service = format_ident!(
        "__fastflight_one_service_per_request_type__{}",
        compact(&request.to_token_stream()).replace(|c: char| !c.is_alphanumeric(), "_"),
        span = request.span()
    );
    let location =
        quote_spanned!(name.span()=> ::core::concat!(::core::file!(), ":", ::core::line!()));

    quote! {
        #func

        #[doc = #stub_doc]
        #vis trait #stub: #private::FetchRequest {
            #[doc = #stub_doc]
            fn #name(&self, request: #request) -> <Self as #private::FetchRequest>::Output {
                #private::FetchRequest::fetch_request(self, request)
            }
        }

        impl<__C: #private::FetchRequest + ?::core::marker::Sized> #stub for __C {}

        #[doc(hidden)]
        #[allow(non_upper_case_globals, dead_code)]
        const #one_service: () = ();

        const _: () = {
            const __HANDLER: &str = ::core::concat!(::core::module_path!(), "::", ::core::stringify!(#name));

            #[allow(clippy::unnecessary_wraps, unused_variables)]
            fn __fastflight_invoke(
                __fields: #private::Map<::std::string::String, #private::Value>,
                __ctx: #private::Context,
                __states: &#private::States,
            ) -> #private::Result<#private::BoxFuture<'static, #private::Result<#private::BatchStream>>> {
                #(#bindings)*
                #run
            }

            fn __fastflight_check(
                __fields: #private::Map<::std::string::String, #private::Value>,
            ) -> #private::Result<()> {
                #private::prepare::<#request>(__fields).map(|_| ())
            }

            fn __fastflight_states() -> ::std::vec::Vec<(#private::TypeId, &'static str)> {
                ::std::vec![#((#private::TypeId::of::<#state_types>(), #state_names)),*]
            }

            #private::inventory::submit! {
                #private::ServiceEntry {
                    request_name: <#request as #private::FlightRequest>::NAME,
                    request_type: #request_name,
                    request_id: #private::TypeId::of::<#request>,
                    request_fields: <#request as #private::FlightRequest>::fields,
                    handler: __HANDLER,
                    location: #location,
                    states: __fastflight_states,
                    schema: #schema,
                    blocking: #blocking,
                    check: __fastflight_check,
                    invoke: __fastflight_invoke,
                }
            }
        };
    }
}
