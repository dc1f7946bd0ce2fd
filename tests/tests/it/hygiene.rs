//! Both macros in a module without the implicit prelude: generated code names only
//! absolute paths.
#![no_implicit_prelude]

extern crate fastflight;
extern crate futures;
extern crate serde;
extern crate std;

use fastflight::arrow::array::RecordBatch;
use fastflight::{data_service, BatchStream, Context, FlightRequest, State};
use futures::StreamExt;

#[derive(FlightRequest, serde::Serialize, serde::Deserialize)]
#[flight(name = "hygiene.Params", validate = check)]
pub struct Params {
    pub n: u32,
    pub label: std::option::Option<std::string::String>,
}

fn check(p: &Params) -> std::result::Result<(), std::string::String> {
    if p.n > 0 {
        std::result::Result::Ok(())
    } else {
        std::result::Result::Err(std::string::ToString::to_string("n must be positive"))
    }
}

#[derive(FlightRequest, serde::Serialize, serde::Deserialize)]
pub struct Other {
    #[serde(default)]
    pub flag: bool,
}

/// `JsonSchema` by hand: its derive needs the prelude, which this module is without.
macro_rules! any_object_schema {
    ($($ty:ident),*) => {$(
        impl fastflight::schemars::JsonSchema for $ty {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                std::borrow::Cow::Borrowed(std::stringify!($ty))
            }
            fn json_schema(
                _: &mut fastflight::schemars::SchemaGenerator,
            ) -> fastflight::schemars::Schema {
                <fastflight::schemars::Schema as std::default::Default>::default()
            }
        }
    )*};
}
any_object_schema!(Params, Other);

pub struct Shared;

fn schema() -> fastflight::arrow::datatypes::Schema {
    fastflight::arrow::datatypes::Schema::empty()
}

#[data_service(schema = schema)]
pub async fn service(
    _req: Params,
    _ctx: Context,
    _shared: State<Shared>,
) -> fastflight::Result<BatchStream> {
    std::result::Result::Ok(futures::stream::empty().boxed())
}

#[data_service(blocking)]
pub fn blocking_service(
    _req: Other,
) -> std::vec::Vec<std::result::Result<RecordBatch, std::string::String>> {
    std::vec::Vec::new()
}

#[::core::prelude::v1::test]
fn generated_code_names_only_absolute_paths() {
    std::assert_eq!(
        <Params as fastflight::FlightRequest>::NAME,
        "hygiene.Params"
    );
    std::assert_eq!(
        <Other as fastflight::FlightRequest>::NAME,
        std::concat!(std::module_path!(), "::Other")
    );
    std::assert_eq!(<Params as fastflight::FlightRequest>::fields().len(), 2);
}

/// The stubs, under no prelude too.
pub async fn _stubs(client: &fastflight::Client) -> fastflight::Result<()> {
    let _ = ParamsClient::params(
        client,
        Params {
            n: 1,
            label: std::option::Option::None,
        },
    )
    .await?;
    let _ = OtherClient::other(client, Other { flag: true }).await?;
    std::result::Result::Ok(())
}
