::core::compile_error! {
    "unknown #[data_service] argument; expected `blocking`, `schema = path::to::fn`, `roles = [\"..\"]`, `authorize = path::to::fn`, `open_without_auth`, `partitions = path::to::fn`, `ordered` or `batch_rows = N`"
}
::core::compile_error! {
    "a #[data_service] function must be `async fn`; for a blocking source write a plain `fn` under #[data_service(blocking)]"
}
fn not_async(req: Req) -> BatchStream {
    todo!()
}
