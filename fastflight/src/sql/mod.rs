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
//! - [`session`]: a session's options (default catalog and schema), carried in a
//!   cookie, and the messages of `SetSessionOptions` and its kin.
//! - `running`: the statements being read, so that `CancelFlightInfo` stops them.
//!
//! ```
//! use fastflight::sql::catalog::table_name;
//! // `SELECT * FROM synthetic LIMIT 10` reads the demo's `fastflight.demo.SyntheticParams`.
//! assert_eq!(table_name("fastflight.demo.SyntheticParams").1, "synthetic");
//! ```

pub mod catalog;
pub mod metadata;
pub mod plan;
pub(crate) mod running;
pub mod session;

/// What a server answers Flight SQL from: the catalog of its services, and the
/// statements being read.
pub(crate) struct SqlServer {
    pub(crate) catalog: catalog::Catalog,
    pub(crate) running: std::sync::Arc<running::Running>,
}

/// The batches cut to the plan's columns, and ended after its limit (the service's
/// stream dropped then, which stops it).
pub(crate) fn cut(
    batches: crate::service::BatchStream,
    plan: plan::Plan,
    schema: arrow::datatypes::SchemaRef,
) -> crate::service::BatchStream {
    let left = plan.limit;
    use futures::StreamExt as _;
    futures::stream::unfold(
        (batches, plan, schema, left),
        |(mut batches, plan, schema, left)| async move {
            if left == Some(0) {
                return None;
            }
            let batch = match batches.next().await? {
                Ok(batch) => batch,
                Err(e) => return Some((Err(e), (batches, plan, schema, left))),
            };
            let batch = match plan.project(&batch, &schema) {
                Ok(batch) => batch,
                Err(e) => return Some((Err(e), (batches, plan, schema, Some(0)))),
            };
            let rows = batch.num_rows() as u64;
            let (batch, left) = match left {
                Some(n) if rows > n => (batch.slice(0, n as usize), Some(0)),
                Some(n) => (batch, Some(n - rows)),
                None => (batch, None),
            };
            Some((Ok::<_, crate::Error>(batch), (batches, plan, schema, left)))
        },
    )
    .boxed()
}
