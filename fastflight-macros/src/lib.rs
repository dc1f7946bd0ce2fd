//! Procedural macros of fastflight. Use them through the `fastflight` crate, whose
//! documentation describes them: `fastflight::FlightRequest` and `fastflight::data_service`.
//!
//! Each macro goes attributes → model → checks → expansion, with one error context
//! (`ctxt::Ctxt`) that collects every error before anything is expanded.

mod ctxt;
mod names;
mod request;
mod row;
mod service;

#[cfg(test)]
mod snapshots;

use proc_macro::TokenStream;

/// Implements `fastflight::FlightRequest` and writes the typed client stub; documented
/// in the `fastflight` crate.
#[proc_macro_derive(FlightRequest, attributes(flight))]
pub fn derive_flight_request(input: TokenStream) -> TokenStream {
    request::derive(input.into()).into()
}

/// Implements `fastflight::rows::ArrowRow` for a struct (or `ArrowField` for a
/// unit-only enum); documented in the `fastflight` crate.
#[proc_macro_derive(ArrowRow, attributes(arrow))]
pub fn derive_arrow_row(input: TokenStream) -> TokenStream {
    row::derive(input.into()).into()
}

/// Registers a data service; documented in the `fastflight` crate.
#[proc_macro_attribute]
pub fn data_service(args: TokenStream, item: TokenStream) -> TokenStream {
    service::attribute(args.into(), item.into()).into()
}
