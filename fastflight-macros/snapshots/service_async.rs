pub async fn orders(
    req: Orders,
    ctx: Context,
    db: State<Pool>,
) -> fastflight::Result<BatchStream> {
    todo!()
}
#[doc(hidden)]
#[allow(non_upper_case_globals, dead_code)]
const __fastflight_one_service_per_request_type__Orders: () = ();
macro_rules! data_service_goes_on_a_free_function_at_module_level {
    () => {};
}
data_service_goes_on_a_free_function_at_module_level! {}

// The body of `data_service_goes_on_a_free_function_at_module_level!`, formatted:
const _: () = {
    const __HANDLER: &str = ::core::concat!(
        ::core::module_path!(), "::", ::core::stringify!(orders)
    );
    #[allow(clippy::unnecessary_wraps, unused_variables)]
    fn __fastflight_invoke(
        __request: ::fastflight::__private::Decoded,
        __ctx: ::fastflight::__private::Context,
        __states: &::fastflight::__private::States,
    ) -> ::fastflight::__private::Result<
        ::fastflight::__private::BoxFuture<
            'static,
            ::fastflight::__private::Result<::fastflight::__private::BatchStream>,
        >,
    > {
        let __fastflight_request: Orders = ::fastflight::__private::request::<
            Orders,
        >(__request)?;
        let __fastflight_arg0: Context = (::fastflight::__private::argument::<Context>()
            .take)(&__ctx, __states)?;
        let __fastflight_arg1: State<Pool> = (::fastflight::__private::argument::<
            State<Pool>,
        >()
            .take)(&__ctx, __states)?;
        ::core::result::Result::Ok(
            ::fastflight::__private::boxed(async move {
                let __fastflight_returned = orders(
                        __fastflight_request,
                        __fastflight_arg0,
                        __fastflight_arg1,
                    )
                    .await;
                ::fastflight::__private::stream_of_result(
                    __HANDLER,
                    <::fastflight::__private::Batching as ::core::default::Default>::default(),
                    __fastflight_returned,
                )
            }),
        )
    }
    fn __fastflight_states() -> ::std::vec::Vec<
        (::fastflight::__private::TypeId, &'static str),
    > {
        let states: ::std::vec::Vec<
            ::core::option::Option<(::fastflight::__private::TypeId, &'static str)>,
        > = ::std::vec![
            (::fastflight::__private::argument:: < Context > ().state) (),
            (::fastflight::__private::argument:: < State < Pool > > ().state) ()
        ];
        ::core::iter::Iterator::collect(
            ::core::iter::Iterator::flatten(
                ::core::iter::IntoIterator::into_iter(states),
            ),
        )
    }
    ::fastflight::__private::inventory::submit! {
        ::fastflight::__private::ServiceEntry { request :
        ::fastflight::__private::request_type:: < Orders >, request_type : "Orders",
        handler : __HANDLER, location : ::core::concat!(::core::file!(), ":",
        ::core::line!()), states : __fastflight_states, schema : {
        #[allow(unreachable_code, unused_variables, clippy::diverging_sub_expression)] fn
        __fastflight_schema() -> ::core::option::Option <
        ::fastflight::__private::SchemaRef > { let declared : ::core::option::Option <
        ::fastflight::__private::SchemaRef > =
        ::fastflight::__private::schema_of_stream_result:: < Orders, _, _, _, _, _ > (||
        orders(::core::unreachable!(), ::core::unreachable!(), ::core::unreachable!()));
        ::core::option::Option::or(::core::option::Option::Some(::core::convert::Into::into(orders_schema())),
        declared) } __fastflight_schema }, blocking : false, roles : & [], authorize :
        ::core::option::Option::None, open_without_auth : false, partitions :
        ::core::option::Option::None, ordered : false, invoke : __fastflight_invoke, }
    }
};
