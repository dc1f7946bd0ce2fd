//! The typed model of one service function: its request, its further arguments and
//! how it returns its batches.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{FnArg, ItemFn, ReturnType, Type};

use super::attr::Args;
use crate::ctxt::Ctxt;

pub struct Service<'a> {
    pub func: &'a ItemFn,
    pub args: Args,
    /// The first argument's type.
    pub request: Option<&'a Type>,
    /// Every further argument's type: each implements `FromCall`.
    pub extras: Vec<&'a Type>,
    pub returns: Returns,
    pub return_span: Span,
}

/// How the function returns its batches.
pub enum Returns {
    /// No return type: an error.
    Nothing,
    /// A stream (or iterator) itself.
    Plain,
    /// A `Result` of one.
    Result,
}

impl<'a> Service<'a> {
    pub fn from_ast(cx: &Ctxt, func: &'a ItemFn, args: Args) -> Self {
        let mut typed = Vec::new();
        for input in &func.sig.inputs {
            match input {
                FnArg::Receiver(r) => cx.error_spanned_by(
                    r,
                    "#[data_service] goes on a free function at module level, not on a method: remove `self` and move the function out of the `impl` block",
                ),
                FnArg::Typed(pat) => typed.push(&*pat.ty),
            }
        }
        let (returns, return_span) = match &func.sig.output {
            ReturnType::Default => (Returns::Nothing, func.sig.span()),
            ReturnType::Type(_, ty) => {
                let is_result = match &**ty {
                    Type::Path(p) if p.qself.is_none() => {
                        p.path.segments.last().is_some_and(|s| s.ident == "Result")
                    }
                    _ => false,
                };
                let returns = if is_result {
                    Returns::Result
                } else {
                    Returns::Plain
                };
                (returns, ty.span())
            }
        };
        let mut typed = typed.into_iter();
        Service {
            func,
            args,
            request: typed.next(),
            extras: typed.collect(),
            returns,
            return_span,
        }
    }
}
