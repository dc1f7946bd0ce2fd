//! A request type bound to services in two modules, and two request types sharing one
//! name: the compiler cannot see these, so the server refuses to start, naming both
//! places. A program of its own, since its registry cannot start; the test
//! `errors::duplicates_in_two_modules_fail_the_start` runs it.
use fastflight::prelude::*;

mod api {
    use fastflight::prelude::*;

    #[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
    #[flight(name = "dup.Req")]
    pub struct Req {}

    #[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
    #[flight(name = "dup.Req")]
    pub struct SameName {}
}

mod one {
    use fastflight::prelude::*;

    #[data_service]
    pub async fn first(_req: crate::api::Req) -> fastflight::Result<BatchStream> {
        Ok(futures::stream::empty().boxed())
    }
}

mod two {
    use fastflight::prelude::*;

    #[data_service]
    pub async fn second(_req: crate::api::Req) -> fastflight::Result<BatchStream> {
        Ok(futures::stream::empty().boxed())
    }
}

#[data_service]
async fn third(_req: api::SameName) -> fastflight::Result<BatchStream> {
    Ok(futures::stream::empty().boxed())
}

/// Prints the start-up error and exits 1; exits 0 if the server started (a failure
/// the test `errors::duplicates_in_two_modules_fail_the_start` reports).
fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let bound = runtime.block_on(
        fastflight::Server::builder()
            .location("grpc://127.0.0.1:0")
            .bind(),
    );
    match bound {
        Ok(_) => println!("started"),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}
