const _: () = {
    #[automatically_derived]
    impl ::fastflight::__private::DeclaredRows for Orders {
        type Rows = ::fastflight::__private::AnyRows;
    }
    #[automatically_derived]
    impl ::fastflight::__private::FlightRequest for Orders {
        const NAME: &'static str = "shop.Orders";
        fn fields() -> &'static [::fastflight::__private::FieldInfo] {
            fn __fastflight_default_1() -> ::fastflight::__private::Value {
                ::fastflight::__private::json_value(
                    <Option<u32> as ::core::default::Default>::default(),
                )
            }
            fn __fastflight_default_2() -> ::fastflight::__private::Value {
                ::fastflight::__private::json_value(default_side())
            }
            const FIELDS: &[::fastflight::__private::FieldInfo] = &[
                ::fastflight::__private::FieldInfo {
                    name: "customerId",
                    ty: "String",
                    required: true,
                    default: ::core::option::Option::None,
                },
                ::fastflight::__private::FieldInfo {
                    name: "limit",
                    ty: "Option<u32>",
                    required: false,
                    default: ::core::option::Option::Some(__fastflight_default_1),
                },
                ::fastflight::__private::FieldInfo {
                    name: "side",
                    ty: "Side",
                    required: false,
                    default: ::core::option::Option::Some(__fastflight_default_2),
                },
            ];
            FIELDS
        }
        fn validate(&self) -> ::core::result::Result<(), ::std::string::String> {
            ::core::result::Result::map_err(
                Orders::check(self),
                |e| ::std::string::ToString::to_string(&e),
            )
        }
    }
};
///The typed client stub of [`Orders`]: `client.orders_of(request)` on a `fastflight::Client` (a future of the result's batch stream) or a `fastflight::blocking::Client` (an iterator of batches).
pub trait OrdersClient: ::fastflight::__private::FetchRequest {
    ///Fetches the result of a [`Orders`] request.
    fn orders_of(
        &self,
        request: Orders,
    ) -> <Self as ::fastflight::__private::FetchRequest>::Output {
        ::fastflight::__private::fetch(self, request)
    }
}
#[automatically_derived]
impl<__C: ::fastflight::__private::FetchRequest + ?::core::marker::Sized> OrdersClient
for __C {}
