//! `fastflight-demo`: the command line serving every demo service.
//!
//! `cargo run -p fastflight-examples --bin fastflight-demo -- start-flight-server`

/// mimalloc keeps freed memory for reuse: the Flight path allocates a multi-megabyte
/// buffer per batch, which glibc returns to the OS and faults in again (see the README's
/// Performance section).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
