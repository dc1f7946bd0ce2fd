//! One error context per macro call: every parse and check pushes into it, the
//! expansion runs only when it is empty, and the user sees every error at once, each
//! on its own span.

use std::cell::RefCell;
use std::fmt::Display;

use quote::ToTokens;

/// The errors of one macro call; must be [`Ctxt::check`]ed before it is dropped.
#[derive(Default)]
pub struct Ctxt {
    errors: RefCell<Option<Vec<syn::Error>>>,
}

impl Ctxt {
    pub fn new() -> Self {
        Ctxt {
            errors: RefCell::new(Some(Vec::new())),
        }
    }

    /// An error on the tokens of `obj`.
    pub fn error_spanned_by<T: ToTokens>(&self, obj: T, message: impl Display) {
        self.syn_error(syn::Error::new_spanned(obj.into_token_stream(), message));
    }

    /// An error as syn made it.
    pub fn syn_error(&self, error: syn::Error) {
        if let Some(errors) = self.errors.borrow_mut().as_mut() {
            errors.push(error);
        }
    }

    /// All recorded errors as one, or `Ok` when there are none.
    pub fn check(self) -> syn::Result<()> {
        let errors = self.errors.borrow_mut().take().unwrap_or_default();
        let mut errors = errors.into_iter();
        let Some(mut combined) = errors.next() else {
            return Ok(());
        };
        for rest in errors {
            combined.combine(rest);
        }
        Err(combined)
    }
}

impl Drop for Ctxt {
    fn drop(&mut self) {
        if !std::thread::panicking() && self.errors.borrow().is_some() {
            panic!("an error context was dropped without being checked");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proc_macro2::Span;

    #[test]
    fn collects_every_error() {
        let cx = Ctxt::new();
        assert!(cx.check().is_ok());
        let cx = Ctxt::new();
        cx.syn_error(syn::Error::new(Span::call_site(), "one"));
        cx.error_spanned_by(quote::quote!(x), "two");
        let all: Vec<String> = cx
            .check()
            .unwrap_err()
            .into_iter()
            .map(|e| e.to_string())
            .collect();
        assert_eq!(all, ["one", "two"]);
    }
}
