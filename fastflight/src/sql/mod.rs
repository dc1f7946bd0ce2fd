//! SQL access to services (the `flight-sql` feature): every service a table, a
//! statement a typed request.
//!
//! - [`catalog`]: the names of the tables (derived from each service's registered
//!   name), their request fields and result schemas, and how a name written in a
//!   statement finds its table.
//! - [`plan`]: a statement into a [`Plan`](plan::Plan) — the service's request as a
//!   JSON ticket (filters on request fields become those fields, validated by the
//!   request's own decoding as for any ticket), the columns, the limit. This is the
//!   seam: what answers a statement takes a plan, never the SQL.
//! - [`metadata`]: the answers of Flight SQL's metadata commands (the server's SQL
//!   info, catalogs, schemas, tables with their Arrow schemas, table types, SQL types),
//!   in the specification's columns, built by arrow-flight's builders.
//!
//! ```
//! use fastflight::sql::catalog::table_name;
//! // `SELECT * FROM synthetic LIMIT 10` reads the demo's `fastflight.demo.SyntheticParams`.
//! assert_eq!(table_name("fastflight.demo.SyntheticParams").1, "synthetic");
//! ```

pub mod catalog;
pub mod metadata;
pub mod plan;
