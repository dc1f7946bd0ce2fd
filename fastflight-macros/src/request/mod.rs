//! `#[derive(FlightRequest)]`: attributes ([`attr`]) → model ([`model`]) → checks
//! ([`check`]) → expansion ([`expand`]): the `FlightRequest` impl and the typed client stub.

pub(crate) mod attr;
mod check;
mod expand;
mod model;

use proc_macro2::TokenStream;

use crate::ctxt::Ctxt;

pub fn derive(input: TokenStream) -> TokenStream {
    let input = match syn::parse2::<syn::DeriveInput>(input) {
        Ok(input) => input,
        Err(e) => return e.to_compile_error(),
    };
    let cx = Ctxt::new();
    let model = model::Request::from_ast(&cx, &input);
    check::check(&cx, &model);
    match cx.check() {
        Ok(()) => expand::expand(&model),
        Err(errors) => errors.to_compile_error(),
    }
}
