//! A statement sent as Flight SQL (`CommandStatementQuery`), its result read through
//! its endpoints as a partitioned request's are ([`super::parts`]): any Flight SQL
//! server answers it, a fastflight server with the `flight-sql` feature among them.

use arrow_flight::FlightDescriptor;
use prost::Message;

use super::{Client, RecordBatchStream};
use crate::Result;

/// `CommandStatementQuery`, as `FlightSql.proto` has it.
#[derive(Clone, PartialEq, prost::Message)]
struct CommandStatementQuery {
    #[prost(string, tag = "1")]
    query: String,
    #[prost(bytes = "vec", optional, tag = "2")]
    transaction_id: Option<Vec<u8>>,
}

/// `google.protobuf.Any`: how Flight SQL packs its commands.
#[derive(Clone, PartialEq, prost::Message)]
struct Any {
    #[prost(string, tag = "1")]
    type_url: String,
    #[prost(bytes = "vec", tag = "2")]
    value: Vec<u8>,
}

/// The descriptor of a statement: its `CommandStatementQuery`, packed.
pub(crate) fn statement_descriptor(sql: &str) -> FlightDescriptor {
    let command = CommandStatementQuery {
        query: sql.to_owned(),
        transaction_id: None,
    };
    let any = Any {
        type_url: "type.googleapis.com/arrow.flight.protocol.sql.CommandStatementQuery".into(),
        value: command.encode_to_vec(),
    };
    FlightDescriptor::new_cmd(any.encode_to_vec())
}

impl Client {
    /// The result of a SQL statement (`SELECT * FROM synthetic LIMIT 10`), sent as
    /// Flight SQL's `CommandStatementQuery`: its endpoints read as those of a
    /// partitioned request ([`Client::fetch_spread`]), with the same retries, trust of
    /// locations and credentials.
    ///
    /// ```no_run
    /// # async fn run(client: fastflight::Client) -> fastflight::Result<()> {
    /// let batches = client
    ///     .sql("SELECT * FROM synthetic(rows => 3)")
    ///     .await?
    ///     .collect()
    ///     .await?;
    /// # let _ = batches;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn sql(&self, statement: &str) -> Result<RecordBatchStream> {
        let info = self.info_of(statement_descriptor(statement)).await?;
        super::parts::read(self, info).await
    }
}
