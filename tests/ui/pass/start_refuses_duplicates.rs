//! A request type bound to services in two modules, and two request types sharing one
//! name: the compiler cannot see these, so the server refuses to start, naming both places.
use fastflight::prelude::*;

mod api {
    use fastflight::prelude::*;

    #[derive(FlightRequest, Serialize, Deserialize)]
    #[flight(name = "dup.Req")]
    pub struct Req {}

    #[derive(FlightRequest, Serialize, Deserialize)]
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

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let bound = runtime.block_on(fastflight::Server::builder().location("grpc://127.0.0.1:0").bind());
    let Err(error) = bound else {
        panic!("a server with a request type bound twice started");
    };
    let text = error.to_string();
    assert!(text.contains("is bound to two services"), "{text}");
    assert!(text.contains("one::first") && text.contains("two::second"), "{text}");
    assert!(text.contains("start_refuses_duplicates.rs:21"), "{text}");
    assert!(text.contains("start_refuses_duplicates.rs:30"), "{text}");
    assert!(text.contains("two request types share the name `dup.Req`"), "{text}");
    assert!(text.contains("SameName"), "{text}");
}
