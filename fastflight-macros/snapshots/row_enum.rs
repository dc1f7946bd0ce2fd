const _: () = {
    #[automatically_derived]
    impl ::fastflight::rows::ArrowEnum for Side {
        const VARIANTS: &'static [&'static str] = &["buy", "sell"];
        #[inline]
        fn index(&self) -> usize {
            match self {
                Side::Buy => 0usize,
                Side::SellShort => 1usize,
            }
        }
        fn from_index(index: usize) -> ::core::option::Option<Self> {
            match index {
                0usize => ::core::option::Option::Some(Side::Buy),
                1usize => ::core::option::Option::Some(Side::SellShort),
                _ => ::core::option::Option::None,
            }
        }
    }
    #[automatically_derived]
    impl ::fastflight::rows::ArrowField for Side {
        type Codec = ::fastflight::rows::codec::Enum<Side>;
    }
};
