//! Snapshot tests of the expansions: each macro's output for a few inputs, pretty-printed
//! and compared with `fastflight-macros/snapshots/*.rs`. After a deliberate change to
//! the output, `EXPECTORATE=overwrite cargo test -p fastflight-macros` rewrites them;
//! review the diff like code.

use proc_macro2::TokenStream;
use quote::quote;

/// The expansion, formatted; the body of a local `macro_rules!` (which the formatter
/// leaves as written) is formatted on its own after it.
fn pretty(tokens: TokenStream) -> String {
    let mut file: syn::File = syn::parse2(tokens).expect("the expansion parses as items");
    let mut bodies = Vec::new();
    for item in &mut file.items {
        let syn::Item::Macro(m) = item else { continue };
        if !m.mac.path.is_ident("macro_rules") {
            continue;
        }
        let body = m.mac.tokens.clone().into_iter().find_map(|tt| match tt {
            proc_macro2::TokenTree::Group(g) if g.delimiter() == proc_macro2::Delimiter::Brace => {
                Some(g.stream())
            }
            _ => None,
        });
        if let Some(body) = body {
            let body: syn::File = syn::parse2(body).expect("the macro body parses as items");
            bodies.push(format!(
                "\n// The body of `{}!`, formatted:\n{}",
                m.ident
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
                prettyplease::unparse(&body)
            ));
            m.mac.tokens = quote!(() => { /* below */ });
        }
    }
    prettyplease::unparse(&file) + &bodies.concat()
}

fn assert_snapshot(name: &str, tokens: TokenStream) {
    let path = format!("{}/snapshots/{name}.rs", env!("CARGO_MANIFEST_DIR"));
    expectorate::assert_contents(path, &pretty(tokens));
}

#[test]
fn request_with_name_validation_defaults_and_method() {
    assert_snapshot(
        "request_full",
        crate::request::derive(quote! {
            #[flight(name = "shop.Orders", method = "orders_of", validate = Orders::check)]
            #[serde(rename_all = "camelCase")]
            pub struct Orders {
                pub customer_id: String,
                #[serde(default)]
                pub limit: Option<u32>,
                #[serde(default = "default_side")]
                pub side: Side,
                #[serde(skip)]
                pub cache: (),
            }
        }),
    );
}

#[test]
fn request_with_the_default_name() {
    assert_snapshot(
        "request_default_name",
        crate::request::derive(quote! {
            struct Ping {}
        }),
    );
}

#[test]
fn async_service_with_further_arguments() {
    assert_snapshot(
        "service_async",
        crate::service::attribute(
            quote!(schema = orders_schema),
            quote! {
                pub async fn orders(req: Orders, ctx: Context, db: State<Pool>) -> fastflight::Result<BatchStream> {
                    todo!()
                }
            },
        ),
    );
}

#[test]
fn blocking_service() {
    assert_snapshot(
        "service_blocking",
        crate::service::attribute(
            quote!(blocking),
            quote! {
                fn rows(req: Rows) -> impl Iterator<Item = Result<RecordBatch, String>> + Send {
                    std::iter::empty()
                }
            },
        ),
    );
}

#[test]
fn errors_keep_the_users_function() {
    assert_snapshot(
        "service_error",
        crate::service::attribute(
            quote!(fast),
            quote! {
                fn not_async(req: Req) -> BatchStream { todo!() }
            },
        ),
    );
}

#[test]
fn row_struct_with_attributes() {
    assert_snapshot(
        "row_struct",
        crate::row::derive(quote! {
            #[serde(rename_all = "camelCase")]
            pub struct Trade {
                pub trade_id: i64,
                #[arrow(dictionary)]
                pub symbol: String,
                pub price: Option<f64>,
                pub fills: Vec<i32>,
                #[arrow(unit = "ns")]
                pub at: DateTime<Utc>,
                #[arrow(rename = "cents", with = AsCents)]
                pub amount: Money,
                #[arrow(skip)]
                pub cached: u8,
            }
        }),
    );
}

#[test]
fn row_enum_with_renames() {
    assert_snapshot(
        "row_enum",
        crate::row::derive(quote! {
            #[serde(rename_all = "snake_case")]
            pub enum Side {
                Buy,
                #[serde(rename = "sell")]
                SellShort,
            }
        }),
    );
}

#[test]
fn request_with_rows() {
    assert_snapshot(
        "request_rows",
        crate::request::derive(quote! {
            #[flight(name = "demo.Trades", rows = Trade)]
            pub struct Trades {
                pub count: i64,
            }
        }),
    );
}
