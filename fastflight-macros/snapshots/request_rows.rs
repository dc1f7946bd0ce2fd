const _: () = {
    #[automatically_derived]
    impl ::fastflight::__private::DeclaredRows for Trades {
        type Rows = ::fastflight::__private::RowsOf<Trade>;
    }
    #[automatically_derived]
    impl ::fastflight::__private::FlightRequest for Trades {
        const NAME: &'static str = "demo.Trades";
        fn fields() -> &'static [::fastflight::__private::FieldInfo] {
            const FIELDS: &[::fastflight::__private::FieldInfo] = &[
                ::fastflight::__private::FieldInfo {
                    name: "count",
                    ty: "i64",
                    required: true,
                    default: ::core::option::Option::None,
                },
            ];
            FIELDS
        }
        fn validate(&self) -> ::core::result::Result<(), ::std::string::String> {
            ::core::result::Result::Ok(())
        }
    }
};
///The typed client stub of [`Trades`]: `client.trades(request)` on a `fastflight::Client` (a future of a `RowStream<Trade>`) or a `fastflight::blocking::Client` (an iterator of `Trade` rows).
pub trait TradesClient: ::fastflight::__private::FetchRows {
    ///Fetches the result of a [`Trades`] request as `Trade` rows (the result's schema checked against the row type first).
    fn trades(
        &self,
        request: Trades,
    ) -> <Self as ::fastflight::__private::FetchRows>::Rows<Trade> {
        ::fastflight::__private::fetch_rows::<Self, Trades, Trade>(self, request)
    }
}
#[automatically_derived]
impl<__C: ::fastflight::__private::FetchRows + ?::core::marker::Sized> TradesClient
for __C {}
