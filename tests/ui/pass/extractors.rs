//! Further arguments are taken by the `FromCall` trait, never by their name: a type of
//! one's own can be an argument, and a user's own type named `Context` is not taken
//! for fastflight's.
use fastflight::prelude::*;
use fastflight::{Call, FromCall};

mod mine {
    /// Not fastflight's `Context`.
    pub struct Context(pub String);
}

impl FromCall for mine::Context {
    fn from_call(call: &Call<'_>) -> fastflight::Result<Self> {
        std::result::Result::Ok(mine::Context(
            call.context().header("x-user").unwrap_or("nobody").to_owned(),
        ))
    }
}

pub struct Pool;

/// An extractor that needs a state: the server checks it at start.
pub struct Conn(State<Pool>);

impl FromCall for Conn {
    fn required_state() -> Option<(std::any::TypeId, &'static str)> {
        <State<Pool> as FromCall>::required_state()
    }
    fn from_call(call: &Call<'_>) -> fastflight::Result<Self> {
        call.state::<Pool>().map(Conn)
    }
}

#[derive(FlightRequest, Serialize, Deserialize)]
pub struct Report {}

#[data_service]
async fn report(
    _req: Report,
    user: mine::Context,
    _conn: Conn,
    ctx: fastflight::Context,
) -> fastflight::Result<BatchStream> {
    let _ = (user.0, ctx.peer());
    Ok(futures::stream::empty().boxed())
}

fn main() {
    // Without the state, the server refuses to start and names it.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let refused = runtime.block_on(fastflight::Server::builder().location("grpc://127.0.0.1:0").bind());
    let message = refused.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(message.contains("State<") && message.contains("Pool"), "{message}");
}
