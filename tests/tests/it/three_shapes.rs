//! The accepted shapes of #[data_service], and the typed stubs of their request types:
//! this module compiles.
use fastflight::arrow::array::RecordBatch;
use fastflight::prelude::*;

#[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
pub struct A {}
#[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
pub struct B {}
#[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
pub struct C {}
#[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
pub struct D {}

#[data_service]
pub async fn plain_stream(_req: A) -> impl Stream<Item = Result<RecordBatch, std::io::Error>> {
    futures::stream::empty()
}

#[data_service]
pub async fn result_stream(
    _req: B,
) -> Result<futures::stream::Empty<Result<RecordBatch, String>>, String> {
    Ok(futures::stream::empty())
}

#[data_service(blocking)]
pub fn blocking_result(
    _req: C,
    _ctx: Context,
) -> Result<std::vec::IntoIter<fastflight::Result<RecordBatch>>, fastflight::Error> {
    Ok(Vec::new().into_iter())
}

#[data_service(blocking)]
pub fn blocking_plain(_req: D) -> impl Iterator<Item = Result<RecordBatch, String>> + Send {
    std::iter::empty()
}

async fn _typed(client: &fastflight::Client) -> fastflight::Result<()> {
    let _ = client.a(A {}).await?;
    let _ = client.b(B {}).await?;
    Ok(())
}

fn _typed_blocking(client: &fastflight::blocking::Client) -> fastflight::Result<()> {
    let _ = client.c(C {})?;
    let _ = client.d(D {})?;
    Ok(())
}
