//! The SQL planner's property under arbitrary text: it never panics, every refusal is
//! `InvalidArgument`, and every plan's ticket is a JSON ticket of the table's service.
//! The fuzz target `sql` runs it under libFuzzer; the integration tests compile it and
//! run it over a corpus of their own, so it is built on every CI run.

use std::sync::OnceLock;

use fastflight::prelude::*;
use fastflight::sql::catalog::Catalog;

/// A table function of a required field, a list and an optional field.
#[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
#[flight(name = "fuzz.sql.FuzzQuotes")]
pub struct FuzzQuotes {
    pub symbol: String,
    pub sides: Option<Vec<String>>,
    #[serde(default)]
    pub depth: u32,
}

#[data_service]
pub async fn fuzz_quotes(_req: FuzzQuotes) -> fastflight::Result<BatchStream> {
    Ok(futures::stream::empty().boxed())
}

pub fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| {
        let registry = fastflight::Registry::global()
            .and_then(|r| r.select(["fuzz.sql.FuzzQuotes"]))
            .expect("the harness's service is linked");
        Catalog::new(&registry).expect("one table")
    })
}

/// Plans `bytes` (when UTF-8) and checks the outcome.
pub fn check(bytes: &[u8]) {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    match fastflight::sql::plan::plan(text, catalog(), |_| true) {
        Ok(plan) => {
            let ticket = plan.ticket();
            let raw = fastflight::ticket::decode(&ticket)
                .unwrap_or_else(|e| panic!("{text}: the plan's ticket is refused: {e}"));
            assert_eq!(raw.param_type, FuzzQuotes::NAME, "{text}");
        }
        Err(e) => assert_eq!(
            e.code(),
            fastflight::tonic::Code::InvalidArgument,
            "{text}: {e}"
        ),
    }
}
