//! The rules a service function must follow, each an error on the offending tokens.

use syn::Type;

use super::model::{Returns, Service};
use super::SHAPES;
use crate::ctxt::Ctxt;

pub fn check(cx: &Ctxt, model: &Service<'_>) {
    let sig = &model.func.sig;
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        cx.error_spanned_by(
            &sig.generics,
            "a #[data_service] function cannot be generic: it serves one request type",
        );
    }
    match (model.args.blocking, sig.asyncness.is_some()) {
        (false, false) => cx.error_spanned_by(
            sig.fn_token,
            "a #[data_service] function must be `async fn`; for a blocking source write a plain `fn` under #[data_service(blocking)]",
        ),
        (true, true) => cx.error_spanned_by(
            sig.asyncness,
            "#[data_service(blocking)] takes a plain `fn` that returns an iterator of batches; remove `async`, or remove `blocking`",
        ),
        _ => {}
    }
    let has_receiver = sig
        .inputs
        .iter()
        .any(|a| matches!(a, syn::FnArg::Receiver(_)));
    match model.request {
        None if !has_receiver => cx.error_spanned_by(
            &sig.inputs,
            format!("a #[data_service] needs one request argument, e.g. `req: MyParams` where MyParams derives FlightRequest; {SHAPES}"),
        ),
        None => {}
        Some(ty) => by_value(cx, ty, "the request `R`"),
    }
    for ty in &model.extras {
        by_value(cx, ty, "each further argument");
    }
    if let (Some(ordered), None) = (&model.args.ordered, &model.args.partitions) {
        cx.error_spanned_by(
            ordered,
            "`ordered` is about the parts of a partitioned service: add `partitions = split_fn`, or remove `ordered`",
        );
    }
    let restricted = model.args.roles.is_some() || model.args.authorize.is_some();
    if let (Some(open), false) = (&model.args.open_without_auth, restricted) {
        cx.error_spanned_by(
            open,
            "`open_without_auth` relaxes `roles` or `authorize` on servers that authenticate nobody: add `roles = [\"..\"]` or `authorize = path::to::fn`, or remove it",
        );
    }
    if let Returns::Nothing = model.returns {
        cx.error_spanned_by(
            sig,
            format!("a #[data_service] must return its record batches; {SHAPES}"),
        );
    }
}

/// Arguments are owned values: the request is decoded for the call, the others taken from it.
fn by_value(cx: &Ctxt, ty: &Type, what: &str) {
    match ty {
        Type::Reference(r) => cx.error_spanned_by(
            r,
            format!("a #[data_service] takes its arguments by value: take {what} itself, not a reference"),
        ),
        Type::ImplTrait(t) => cx.error_spanned_by(
            t,
            "`impl Trait` is not accepted as a #[data_service] argument: name the type",
        ),
        _ => {}
    }
}
