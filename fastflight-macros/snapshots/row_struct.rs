const _: () = {
    #[doc(hidden)]
    pub trait __TradeCodecs {
        type F0: ::fastflight::rows::Codec<i64>;
        type F1: ::fastflight::rows::Codec<String>;
        type F2: ::fastflight::rows::Codec<Option<f64>>;
        type F3: ::fastflight::rows::Codec<Vec<i32>>;
        type F4: ::fastflight::rows::Codec<DateTime<Utc>>;
        type F5: ::fastflight::rows::Codec<Money>;
    }
    #[automatically_derived]
    impl __TradeCodecs for Trade {
        type F0 = <i64 as ::fastflight::rows::ArrowField>::Codec;
        type F1 = ::fastflight::rows::codec::DictionaryUtf8;
        type F2 = ::fastflight::rows::codec::Nullable<
            <f64 as ::fastflight::rows::ArrowField>::Codec,
        >;
        type F3 = ::fastflight::rows::codec::List<
            <i32 as ::fastflight::rows::ArrowField>::Codec,
        >;
        type F4 = <DateTime<
            Utc,
        > as ::fastflight::rows::time::InUnit<::fastflight::rows::time::Nanos>>::Codec;
        type F5 = ::fastflight::rows::codec::Via<AsCents>;
    }
    #[doc(hidden)]
    pub struct __TradeRowBuilder {
        f0: <<Trade as __TradeCodecs>::F0 as ::fastflight::rows::Codec<i64>>::Builder,
        f1: <<Trade as __TradeCodecs>::F1 as ::fastflight::rows::Codec<String>>::Builder,
        f2: <<Trade as __TradeCodecs>::F2 as ::fastflight::rows::Codec<
            Option<f64>,
        >>::Builder,
        f3: <<Trade as __TradeCodecs>::F3 as ::fastflight::rows::Codec<
            Vec<i32>,
        >>::Builder,
        f4: <<Trade as __TradeCodecs>::F4 as ::fastflight::rows::Codec<
            DateTime<Utc>,
        >>::Builder,
        f5: <<Trade as __TradeCodecs>::F5 as ::fastflight::rows::Codec<Money>>::Builder,
        __len: usize,
    }
    #[doc(hidden)]
    pub struct __TradeRowReader {
        f0: <<Trade as __TradeCodecs>::F0 as ::fastflight::rows::Codec<i64>>::Column,
        f1: <<Trade as __TradeCodecs>::F1 as ::fastflight::rows::Codec<String>>::Column,
        f2: <<Trade as __TradeCodecs>::F2 as ::fastflight::rows::Codec<
            Option<f64>,
        >>::Column,
        f3: <<Trade as __TradeCodecs>::F3 as ::fastflight::rows::Codec<
            Vec<i32>,
        >>::Column,
        f4: <<Trade as __TradeCodecs>::F4 as ::fastflight::rows::Codec<
            DateTime<Utc>,
        >>::Column,
        f5: <<Trade as __TradeCodecs>::F5 as ::fastflight::rows::Codec<Money>>::Column,
        __len: usize,
    }
    #[automatically_derived]
    impl ::fastflight::rows::ArrowRow for Trade {
        const NAME: &'static str = "Trade";
        type Builder = __TradeRowBuilder;
        type Reader = __TradeRowReader;
        fn fields() -> ::fastflight::arrow::datatypes::Fields {
            ::fastflight::arrow::datatypes::Fields::from(
                ::std::vec![
                    ::fastflight::arrow::datatypes::Field::new("tradeId", < < Trade as
                    __TradeCodecs > ::F0 as ::fastflight::rows::Codec < i64 >>
                    ::data_type(), < < Trade as __TradeCodecs > ::F0 as
                    ::fastflight::rows::Codec < i64 >> ::NULLABLE),
                    ::fastflight::arrow::datatypes::Field::new("symbol", < < Trade as
                    __TradeCodecs > ::F1 as ::fastflight::rows::Codec < String >>
                    ::data_type(), < < Trade as __TradeCodecs > ::F1 as
                    ::fastflight::rows::Codec < String >> ::NULLABLE),
                    ::fastflight::arrow::datatypes::Field::new("price", < < Trade as
                    __TradeCodecs > ::F2 as ::fastflight::rows::Codec < Option < f64 > >>
                    ::data_type(), < < Trade as __TradeCodecs > ::F2 as
                    ::fastflight::rows::Codec < Option < f64 > >> ::NULLABLE),
                    ::fastflight::arrow::datatypes::Field::new("fills", < < Trade as
                    __TradeCodecs > ::F3 as ::fastflight::rows::Codec < Vec < i32 > >>
                    ::data_type(), < < Trade as __TradeCodecs > ::F3 as
                    ::fastflight::rows::Codec < Vec < i32 > >> ::NULLABLE),
                    ::fastflight::arrow::datatypes::Field::new("at", < < Trade as
                    __TradeCodecs > ::F4 as ::fastflight::rows::Codec < DateTime < Utc >
                    >> ::data_type(), < < Trade as __TradeCodecs > ::F4 as
                    ::fastflight::rows::Codec < DateTime < Utc > >> ::NULLABLE),
                    ::fastflight::arrow::datatypes::Field::new("cents", < < Trade as
                    __TradeCodecs > ::F5 as ::fastflight::rows::Codec < Money >>
                    ::data_type(), < < Trade as __TradeCodecs > ::F5 as
                    ::fastflight::rows::Codec < Money >> ::NULLABLE),
                ],
            )
        }
        fn schema() -> ::fastflight::arrow::datatypes::SchemaRef {
            static SCHEMA: ::std::sync::OnceLock<
                ::fastflight::arrow::datatypes::SchemaRef,
            > = ::std::sync::OnceLock::new();
            ::std::sync::Arc::clone(
                SCHEMA
                    .get_or_init(|| {
                        ::std::sync::Arc::new(
                            ::fastflight::arrow::datatypes::Schema::new(
                                <Self as ::fastflight::rows::ArrowRow>::fields(),
                            ),
                        )
                    }),
            )
        }
        fn builder(capacity: usize) -> __TradeRowBuilder {
            __TradeRowBuilder {
                f0: <<Trade as __TradeCodecs>::F0 as ::fastflight::rows::Codec<
                    i64,
                >>::builder(capacity),
                f1: <<Trade as __TradeCodecs>::F1 as ::fastflight::rows::Codec<
                    String,
                >>::builder(capacity),
                f2: <<Trade as __TradeCodecs>::F2 as ::fastflight::rows::Codec<
                    Option<f64>,
                >>::builder(capacity),
                f3: <<Trade as __TradeCodecs>::F3 as ::fastflight::rows::Codec<
                    Vec<i32>,
                >>::builder(capacity),
                f4: <<Trade as __TradeCodecs>::F4 as ::fastflight::rows::Codec<
                    DateTime<Utc>,
                >>::builder(capacity),
                f5: <<Trade as __TradeCodecs>::F5 as ::fastflight::rows::Codec<
                    Money,
                >>::builder(capacity),
                __len: 0,
            }
        }
        fn reader(
            fields: &::fastflight::arrow::datatypes::Fields,
            columns: &[::fastflight::arrow::array::ArrayRef],
        ) -> ::core::result::Result<__TradeRowReader, ::fastflight::rows::RowError> {
            let __len = match columns.first() {
                ::core::option::Option::Some(column) => {
                    ::fastflight::arrow::array::Array::len(column.as_ref())
                }
                ::core::option::Option::None => {
                    return ::core::result::Result::Err(
                        ::fastflight::rows::RowError::new(
                            "tradeId",
                            "the batch has no column",
                        ),
                    );
                }
            };
            ::core::result::Result::Ok(__TradeRowReader {
                f0: ::fastflight::rows::column::<
                    i64,
                    <Trade as __TradeCodecs>::F0,
                >(fields, columns, "tradeId")?,
                f1: ::fastflight::rows::column::<
                    String,
                    <Trade as __TradeCodecs>::F1,
                >(fields, columns, "symbol")?,
                f2: ::fastflight::rows::column::<
                    Option<f64>,
                    <Trade as __TradeCodecs>::F2,
                >(fields, columns, "price")?,
                f3: ::fastflight::rows::column::<
                    Vec<i32>,
                    <Trade as __TradeCodecs>::F3,
                >(fields, columns, "fills")?,
                f4: ::fastflight::rows::column::<
                    DateTime<Utc>,
                    <Trade as __TradeCodecs>::F4,
                >(fields, columns, "at")?,
                f5: ::fastflight::rows::column::<
                    Money,
                    <Trade as __TradeCodecs>::F5,
                >(fields, columns, "cents")?,
                __len,
            })
        }
        #[inline]
        fn size(&self) -> usize {
            0
                + <<Trade as __TradeCodecs>::F0 as ::fastflight::rows::Codec<
                    i64,
                >>::size(&self.trade_id)
                + <<Trade as __TradeCodecs>::F1 as ::fastflight::rows::Codec<
                    String,
                >>::size(&self.symbol)
                + <<Trade as __TradeCodecs>::F2 as ::fastflight::rows::Codec<
                    Option<f64>,
                >>::size(&self.price)
                + <<Trade as __TradeCodecs>::F3 as ::fastflight::rows::Codec<
                    Vec<i32>,
                >>::size(&self.fills)
                + <<Trade as __TradeCodecs>::F4 as ::fastflight::rows::Codec<
                    DateTime<Utc>,
                >>::size(&self.at)
                + <<Trade as __TradeCodecs>::F5 as ::fastflight::rows::Codec<
                    Money,
                >>::size(&self.amount)
        }
    }
    #[automatically_derived]
    impl ::fastflight::rows::RowBuilder<Trade> for __TradeRowBuilder {
        #[inline]
        fn append(&mut self, row: &Trade) {
            <<Trade as __TradeCodecs>::F0 as ::fastflight::rows::Codec<
                i64,
            >>::append(&mut self.f0, &row.trade_id);
            <<Trade as __TradeCodecs>::F1 as ::fastflight::rows::Codec<
                String,
            >>::append(&mut self.f1, &row.symbol);
            <<Trade as __TradeCodecs>::F2 as ::fastflight::rows::Codec<
                Option<f64>,
            >>::append(&mut self.f2, &row.price);
            <<Trade as __TradeCodecs>::F3 as ::fastflight::rows::Codec<
                Vec<i32>,
            >>::append(&mut self.f3, &row.fills);
            <<Trade as __TradeCodecs>::F4 as ::fastflight::rows::Codec<
                DateTime<Utc>,
            >>::append(&mut self.f4, &row.at);
            <<Trade as __TradeCodecs>::F5 as ::fastflight::rows::Codec<
                Money,
            >>::append(&mut self.f5, &row.amount);
            self.__len += 1;
        }
        fn extend_from<P>(&mut self, items: &[P], get: impl Fn(&P) -> &Trade) {
            for chunk in items.chunks(::fastflight::rows::CHUNK_ROWS) {
                <<Trade as __TradeCodecs>::F0 as ::fastflight::rows::Codec<
                    i64,
                >>::extend(&mut self.f0, chunk, |item| &get(item).trade_id);
                <<Trade as __TradeCodecs>::F1 as ::fastflight::rows::Codec<
                    String,
                >>::extend(&mut self.f1, chunk, |item| &get(item).symbol);
                <<Trade as __TradeCodecs>::F2 as ::fastflight::rows::Codec<
                    Option<f64>,
                >>::extend(&mut self.f2, chunk, |item| &get(item).price);
                <<Trade as __TradeCodecs>::F3 as ::fastflight::rows::Codec<
                    Vec<i32>,
                >>::extend(&mut self.f3, chunk, |item| &get(item).fills);
                <<Trade as __TradeCodecs>::F4 as ::fastflight::rows::Codec<
                    DateTime<Utc>,
                >>::extend(&mut self.f4, chunk, |item| &get(item).at);
                <<Trade as __TradeCodecs>::F5 as ::fastflight::rows::Codec<
                    Money,
                >>::extend(&mut self.f5, chunk, |item| &get(item).amount);
            }
            self.__len += items.len();
        }
        fn append_null(&mut self) {
            <<Trade as __TradeCodecs>::F0 as ::fastflight::rows::Codec<
                i64,
            >>::append_null(&mut self.f0);
            <<Trade as __TradeCodecs>::F1 as ::fastflight::rows::Codec<
                String,
            >>::append_null(&mut self.f1);
            <<Trade as __TradeCodecs>::F2 as ::fastflight::rows::Codec<
                Option<f64>,
            >>::append_null(&mut self.f2);
            <<Trade as __TradeCodecs>::F3 as ::fastflight::rows::Codec<
                Vec<i32>,
            >>::append_null(&mut self.f3);
            <<Trade as __TradeCodecs>::F4 as ::fastflight::rows::Codec<
                DateTime<Utc>,
            >>::append_null(&mut self.f4);
            <<Trade as __TradeCodecs>::F5 as ::fastflight::rows::Codec<
                Money,
            >>::append_null(&mut self.f5);
            self.__len += 1;
        }
        fn len(&self) -> usize {
            self.__len
        }
        fn finish_columns(
            &mut self,
        ) -> ::core::result::Result<
            ::std::vec::Vec<::fastflight::arrow::array::ArrayRef>,
            ::std::string::String,
        > {
            self.__len = 0;
            ::core::result::Result::Ok(
                ::std::vec![
                    < < Trade as __TradeCodecs > ::F0 as ::fastflight::rows::Codec < i64
                    >> ::finish(& mut self.f0).map_err(| e |
                    ::std::format!("field `{}`: {}", "tradeId", e)) ?, < < Trade as
                    __TradeCodecs > ::F1 as ::fastflight::rows::Codec < String >>
                    ::finish(& mut self.f1).map_err(| e |
                    ::std::format!("field `{}`: {}", "symbol", e)) ?, < < Trade as
                    __TradeCodecs > ::F2 as ::fastflight::rows::Codec < Option < f64 > >>
                    ::finish(& mut self.f2).map_err(| e |
                    ::std::format!("field `{}`: {}", "price", e)) ?, < < Trade as
                    __TradeCodecs > ::F3 as ::fastflight::rows::Codec < Vec < i32 > >>
                    ::finish(& mut self.f3).map_err(| e |
                    ::std::format!("field `{}`: {}", "fills", e)) ?, < < Trade as
                    __TradeCodecs > ::F4 as ::fastflight::rows::Codec < DateTime < Utc >
                    >> ::finish(& mut self.f4).map_err(| e |
                    ::std::format!("field `{}`: {}", "at", e)) ?, < < Trade as
                    __TradeCodecs > ::F5 as ::fastflight::rows::Codec < Money >>
                    ::finish(& mut self.f5).map_err(| e |
                    ::std::format!("field `{}`: {}", "cents", e)) ?,
                ],
            )
        }
    }
    #[automatically_derived]
    impl ::fastflight::rows::RowReader<Trade> for __TradeRowReader {
        fn len(&self) -> usize {
            self.__len
        }
        #[inline]
        fn read(
            &self,
            i: usize,
        ) -> ::core::result::Result<Trade, ::fastflight::rows::RowError> {
            ::core::result::Result::Ok(Trade {
                trade_id: ::fastflight::rows::value::<
                    i64,
                    <Trade as __TradeCodecs>::F0,
                >(&self.f0, i, "tradeId")?,
                symbol: ::fastflight::rows::value::<
                    String,
                    <Trade as __TradeCodecs>::F1,
                >(&self.f1, i, "symbol")?,
                price: ::fastflight::rows::value::<
                    Option<f64>,
                    <Trade as __TradeCodecs>::F2,
                >(&self.f2, i, "price")?,
                fills: ::fastflight::rows::value::<
                    Vec<i32>,
                    <Trade as __TradeCodecs>::F3,
                >(&self.f3, i, "fills")?,
                at: ::fastflight::rows::value::<
                    DateTime<Utc>,
                    <Trade as __TradeCodecs>::F4,
                >(&self.f4, i, "at")?,
                amount: ::fastflight::rows::value::<
                    Money,
                    <Trade as __TradeCodecs>::F5,
                >(&self.f5, i, "cents")?,
                cached: ::core::default::Default::default(),
            })
        }
        fn read_rows(
            &self,
            start: usize,
            end: usize,
            out: &mut ::std::vec::Vec<Trade>,
        ) -> ::core::result::Result<(), ::fastflight::rows::RowError> {
            let end = end.min(self.__len);
            let mut from = start;
            while from < end {
                let to = from.saturating_add(::fastflight::rows::CHUNK_ROWS).min(end);
                let columns = (|| ::core::result::Result::<
                    _,
                    ::fastflight::rows::RowError,
                >::Ok((
                    ::fastflight::rows::values::<
                        i64,
                        <Trade as __TradeCodecs>::F0,
                    >(&self.f0, from, to, "tradeId")?,
                    ::fastflight::rows::values::<
                        String,
                        <Trade as __TradeCodecs>::F1,
                    >(&self.f1, from, to, "symbol")?,
                    ::fastflight::rows::values::<
                        Option<f64>,
                        <Trade as __TradeCodecs>::F2,
                    >(&self.f2, from, to, "price")?,
                    ::fastflight::rows::values::<
                        Vec<i32>,
                        <Trade as __TradeCodecs>::F3,
                    >(&self.f3, from, to, "fills")?,
                    ::fastflight::rows::values::<
                        DateTime<Utc>,
                        <Trade as __TradeCodecs>::F4,
                    >(&self.f4, from, to, "at")?,
                    ::fastflight::rows::values::<
                        Money,
                        <Trade as __TradeCodecs>::F5,
                    >(&self.f5, from, to, "cents")?,
                )))();
                match columns {
                    ::core::result::Result::Ok((f0, f1, f2, f3, f4, f5)) => {
                        out.extend(
                            f0
                                .into_iter()
                                .zip(f1)
                                .zip(f2)
                                .zip(f3)
                                .zip(f4)
                                .zip(f5)
                                .map(|(((((f0, f1), f2), f3), f4), f5)| Trade {
                                    trade_id: f0,
                                    symbol: f1,
                                    price: f2,
                                    fills: f3,
                                    at: f4,
                                    amount: f5,
                                    cached: ::core::default::Default::default(),
                                }),
                        );
                    }
                    ::core::result::Result::Err(_) => {
                        for i in from..to {
                            out.push(
                                <Self as ::fastflight::rows::RowReader<
                                    Trade,
                                >>::read(self, i)?,
                            );
                        }
                    }
                }
                from = to;
            }
            ::core::result::Result::Ok(())
        }
    }
    #[automatically_derived]
    impl ::fastflight::rows::ArrowField for Trade {
        type Codec = ::fastflight::rows::codec::Nested<Trade>;
    }
};
