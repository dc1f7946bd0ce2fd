//! `#[data_service]`: attributes ([`attr`]) → model ([`model`]) → checks ([`check`]) →
//! expansion ([`expand`]): the service's registry entry.

mod attr;
mod check;
mod expand;
mod model;

use proc_macro2::TokenStream;
use quote::quote;

use crate::ctxt::Ctxt;

/// The accepted shapes, named in errors.
pub const SHAPES: &str = "accepted shapes: `async fn f(req: R) -> impl Stream<Item = Result<RecordBatch, E>>` or `-> Result<S, E>` of such a stream (e.g. `fastflight::Result<BatchStream>`), with #[data_service(blocking)] a plain `fn` returning an iterator of `Result<RecordBatch, E>` or a `Result` of one; the first argument `R` is the request (a FlightRequest), every further argument implements `fastflight::FromCall` (`Context`, `State<T>`, `Identity`)";

pub fn attribute(args: TokenStream, item: TokenStream) -> TokenStream {
    let func = match syn::parse2::<syn::ItemFn>(item.clone()) {
        Ok(func) => func,
        Err(_) => {
            let error = syn::Error::new_spanned(
                &item,
                format!("#[data_service] goes on a free function at module level; {SHAPES}"),
            )
            .to_compile_error();
            return quote!(#error #item);
        }
    };
    let cx = Ctxt::new();
    let args = attr::Args::parse(&cx, args);
    let model = model::Service::from_ast(&cx, &func, args);
    check::check(&cx, &model);
    match cx.check() {
        Ok(()) => expand::expand(&model),
        Err(errors) => {
            // Emit the user's function too, so one mistake does not cascade into others.
            let errors = errors.to_compile_error();
            quote!(#errors #func)
        }
    }
}
