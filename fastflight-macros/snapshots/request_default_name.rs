const _: () = {
    #[automatically_derived]
    impl ::fastflight::__private::DeclaredRows for Ping {
        type Rows = ::fastflight::__private::AnyRows;
    }
    #[automatically_derived]
    impl ::fastflight::__private::FlightRequest for Ping {
        const NAME: &'static str = ::core::concat!(
            ::core::module_path!(), "::", ::core::stringify!(Ping)
        );
        fn fields() -> &'static [::fastflight::__private::FieldInfo] {
            const FIELDS: &[::fastflight::__private::FieldInfo] = &[];
            FIELDS
        }
        fn validate(&self) -> ::core::result::Result<(), ::std::string::String> {
            ::core::result::Result::Ok(())
        }
    }
};
///The typed client stub of [`Ping`]: `client.ping(request)` on a `fastflight::Client` (a future of the result's batch stream) or a `fastflight::blocking::Client` (an iterator of batches).
trait PingClient: ::fastflight::__private::FetchRequest {
    ///Fetches the result of a [`Ping`] request.
    fn ping(
        &self,
        request: Ping,
    ) -> <Self as ::fastflight::__private::FetchRequest>::Output {
        ::fastflight::__private::fetch(self, request)
    }
}
#[automatically_derived]
impl<__C: ::fastflight::__private::FetchRequest + ?::core::marker::Sized> PingClient
for __C {}
