//! `fastflight-demo`: the command line serving every demo service.
//!
//! `cargo run -p fastflight-examples --bin fastflight-demo -- start-flight-server`

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match fastflight_examples::run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
