//! Integration tests: real Flight servers on 127.0.0.1, real clients.

// The demo services live in a library crate: linked only when used, like any crate
// of services (a binary whose services are all elsewhere needs the same line).
use fastflight_examples as _;

mod attacks;
mod auth;
mod balancer;
mod blocking_client;
mod cancel;
mod cli;
mod credentials;
mod demo;
mod errors;
mod extractors;
mod fetch;
mod fixtures;
mod fuzz_harness;
mod gateway;
mod holes;
mod hostile_server;
mod hygiene;
mod interop;
mod limits;
mod metadata;
mod partitions;
mod paths;
mod pg_cluster;
mod postgres;
mod redirects;
mod resilience;
mod rows;
mod services;
mod settings;
mod shared;
mod sources;
mod sql;
mod sql_doors;
mod sqlite_sandbox;
mod support;
mod three_shapes;
mod tls;
mod tokens;
