//! Integration tests: real Flight servers on 127.0.0.1, real clients.

mod blocking_client;
mod cancel;
mod cli;
mod demo;
mod errors;
mod fetch;
mod fixtures;
mod gateway;
mod interop;
mod metadata;
mod services;
mod sources;
mod support;
mod ui;
