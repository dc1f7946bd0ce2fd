//! `#[derive(ArrowRow)]`: attributes ([`attr`]) → model ([`model`]) → checks ([`check`])
//! → expansion ([`expand`]): a struct's schema, builder and reader, or a unit-only
//! enum's dictionary.

mod attr;
mod check;
mod expand;
mod model;
mod types;

use proc_macro2::TokenStream;

use crate::ctxt::Ctxt;

pub fn derive(input: TokenStream) -> TokenStream {
    let input = match syn::parse2::<syn::DeriveInput>(input) {
        Ok(input) => input,
        Err(e) => return e.to_compile_error(),
    };
    let cx = Ctxt::new();
    let model = model::Row::from_ast(&cx, &input);
    check::check(&cx, &model);
    match cx.check() {
        Ok(()) => expand::expand(&model),
        Err(errors) => errors.to_compile_error(),
    }
}
