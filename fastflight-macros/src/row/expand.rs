//! A struct's `ArrowRow` (schema, builder, reader) and `ArrowField` (as a nested
//! `Struct` column); a unit-only enum's `ArrowEnum` and `ArrowField` (a dictionary).

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::model::{Column, Kind, Row, Variant};
use super::types::codec;

pub fn expand(model: &Row<'_>) -> TokenStream {
    match &model.kind {
        Kind::Struct(columns) => row(model, columns),
        Kind::Enum(variants) => enumeration(model, variants),
        Kind::Other(..) => TokenStream::new(),
    }
}

fn row(model: &Row<'_>, columns: &[Column<'_>]) -> TokenStream {
    let rows = quote!(::fastflight::rows);
    let arrow = quote!(::fastflight::arrow);
    let ident = model.ident;
    let builder = format_ident!("__{}RowBuilder", ident);
    let reader = format_ident!("__{}RowReader", ident);
    let kept: Vec<&Column<'_>> = columns.iter().filter(|c| c.attrs.skip.is_none()).collect();
    let skipped: Vec<_> = columns
        .iter()
        .filter(|c| c.attrs.skip.is_some())
        .map(|c| c.member)
        .collect();
    let slots: Vec<_> = (0..kept.len()).map(|i| format_ident!("f{}", i)).collect();
    let members: Vec<_> = kept.iter().map(|c| c.member).collect();
    let names: Vec<&str> = kept.iter().map(|c| c.name.as_str()).collect();
    // Each field's codec is named once, in an associated type bound by `Codec<FieldType>`:
    // a field type without a codec is one error, on that field, and every other use
    // goes through the bound.
    let codecs_trait = format_ident!("__{}Codecs", ident);
    let slot_types: Vec<_> = (0..kept.len()).map(|i| format_ident!("F{}", i)).collect();
    let tys: Vec<_> = kept.iter().map(|c| c.ty).collect();
    let chosen: Vec<TokenStream> = kept.iter().map(|c| codec(c.ty, &c.attrs)).collect();
    let codec_paths: Vec<TokenStream> = slot_types
        .iter()
        .map(|slot| quote!(<#ident as #codecs_trait>::#slot))
        .collect();
    let codecs: Vec<TokenStream> = codec_paths
        .iter()
        .zip(&tys)
        .map(|(path, ty)| quote!(<#path as #rows::Codec<#ty>>))
        .collect();
    let name = ident.to_string();
    let first = names[0];
    // Rows read a column at a time are zipped back into rows: `f0.into_iter().zip(f1)…`
    // destructured as `((f0, f1), …)`.
    let head = &slots[0];
    let (zipped, pattern) = slots.iter().skip(1).fold(
        (quote!(#head.into_iter()), quote!(#head)),
        |(iter, pat), slot| (quote!(#iter.zip(#slot)), quote!((#pat, #slot))),
    );
    quote! {
        const _: () = {
            #[doc(hidden)]
            pub trait #codecs_trait {
                #(type #slot_types: #rows::Codec<#tys>;)*
            }

            #[automatically_derived]
            impl #codecs_trait for #ident {
                #(type #slot_types = #chosen;)*
            }

            #[doc(hidden)]
            pub struct #builder {
                #(#slots: #codecs::Builder,)*
                __len: usize,
            }

            #[doc(hidden)]
            pub struct #reader {
                #(#slots: #codecs::Column,)*
                __len: usize,
            }

            #[automatically_derived]
            impl #rows::ArrowRow for #ident {
                const NAME: &'static str = #name;
                type Builder = #builder;
                type Reader = #reader;

                fn fields() -> #arrow::datatypes::Fields {
                    #arrow::datatypes::Fields::from(::std::vec![
                        #(#arrow::datatypes::Field::new(#names, #codecs::data_type(), #codecs::NULLABLE),)*
                    ])
                }

                fn schema() -> #arrow::datatypes::SchemaRef {
                    static SCHEMA: ::std::sync::OnceLock<#arrow::datatypes::SchemaRef> = ::std::sync::OnceLock::new();
                    ::std::sync::Arc::clone(SCHEMA.get_or_init(|| {
                        ::std::sync::Arc::new(#arrow::datatypes::Schema::new(<Self as #rows::ArrowRow>::fields()))
                    }))
                }

                fn builder(capacity: usize) -> #builder {
                    #builder {
                        #(#slots: #codecs::builder(capacity),)*
                        __len: 0,
                    }
                }

                fn reader(
                    fields: &#arrow::datatypes::Fields,
                    columns: &[#arrow::array::ArrayRef],
                ) -> ::core::result::Result<#reader, #rows::RowError> {
                    let __len = match columns.first() {
                        ::core::option::Option::Some(column) => #arrow::array::Array::len(column.as_ref()),
                        ::core::option::Option::None => {
                            return ::core::result::Result::Err(#rows::RowError::new(#first, "the batch has no column"));
                        }
                    };
                    ::core::result::Result::Ok(#reader {
                        #(#slots: #rows::column::<#tys, #codec_paths>(fields, columns, #names)?,)*
                        __len,
                    })
                }

                #[inline]
                fn size(&self) -> usize {
                    0 #(+ #codecs::size(&self.#members))*
                }
            }

            #[automatically_derived]
            impl #rows::RowBuilder<#ident> for #builder {
                #[inline]
                fn append(&mut self, row: &#ident) {
                    #(#codecs::append(&mut self.#slots, &row.#members);)*
                    self.__len += 1;
                }

                fn extend_from<P>(&mut self, items: &[P], get: impl Fn(&P) -> &#ident) {
                    for chunk in items.chunks(#rows::CHUNK_ROWS) {
                        #(#codecs::extend(&mut self.#slots, chunk, |item| &get(item).#members);)*
                    }
                    self.__len += items.len();
                }

                fn append_null(&mut self) {
                    #(#codecs::append_null(&mut self.#slots);)*
                    self.__len += 1;
                }

                fn len(&self) -> usize {
                    self.__len
                }

                fn finish_columns(&mut self) -> ::core::result::Result<::std::vec::Vec<#arrow::array::ArrayRef>, ::std::string::String> {
                    self.__len = 0;
                    ::core::result::Result::Ok(::std::vec![
                        #(#codecs::finish(&mut self.#slots)
                            .map_err(|e| ::std::format!("field `{}`: {}", #names, e))?,)*
                    ])
                }
            }

            #[automatically_derived]
            impl #rows::RowReader<#ident> for #reader {
                fn len(&self) -> usize {
                    self.__len
                }

                #[inline]
                fn read(&self, i: usize) -> ::core::result::Result<#ident, #rows::RowError> {
                    ::core::result::Result::Ok(#ident {
                        #(#members: #rows::value::<#tys, #codec_paths>(&self.#slots, i, #names)?,)*
                        #(#skipped: ::core::default::Default::default(),)*
                    })
                }

                fn read_rows(
                    &self,
                    start: usize,
                    end: usize,
                    out: &mut ::std::vec::Vec<#ident>,
                ) -> ::core::result::Result<(), #rows::RowError> {
                    let end = end.min(self.__len);
                    let mut from = start;
                    while from < end {
                        let to = from.saturating_add(#rows::CHUNK_ROWS).min(end);
                        let columns = (|| ::core::result::Result::<_, #rows::RowError>::Ok((
                            #(#rows::values::<#tys, #codec_paths>(&self.#slots, from, to, #names)?,)*
                        )))();
                        match columns {
                            ::core::result::Result::Ok((#(#slots,)*)) => {
                                out.extend(#zipped.map(|#pattern| #ident {
                                    #(#members: #slots,)*
                                    #(#skipped: ::core::default::Default::default(),)*
                                }));
                            }
                            // Row by row, for the error reading row by row meets first.
                            ::core::result::Result::Err(_) => {
                                for i in from..to {
                                    out.push(<Self as #rows::RowReader<#ident>>::read(self, i)?);
                                }
                            }
                        }
                        from = to;
                    }
                    ::core::result::Result::Ok(())
                }
            }

            #[automatically_derived]
            impl #rows::ArrowField for #ident {
                type Codec = #rows::codec::Nested<#ident>;
            }
        };
    }
}

fn enumeration(model: &Row<'_>, variants: &[Variant<'_>]) -> TokenStream {
    let rows = quote!(::fastflight::rows);
    let ident = model.ident;
    let names = variants.iter().map(|v| v.name.as_str());
    let idents: Vec<_> = variants.iter().map(|v| v.ident).collect();
    let indices: Vec<usize> = (0..variants.len()).collect();
    quote! {
        const _: () = {
            #[automatically_derived]
            impl #rows::ArrowEnum for #ident {
                const VARIANTS: &'static [&'static str] = &[#(#names),*];

                #[inline]
                fn index(&self) -> usize {
                    match self {
                        #(#ident::#idents => #indices,)*
                    }
                }

                fn from_index(index: usize) -> ::core::option::Option<Self> {
                    match index {
                        #(#indices => ::core::option::Option::Some(#ident::#idents),)*
                        _ => ::core::option::Option::None,
                    }
                }
            }

            #[automatically_derived]
            impl #rows::ArrowField for #ident {
                type Codec = #rows::codec::Enum<#ident>;
            }
        };
    }
}
