//! The calls of a client: typed `fetch`, raw tickets, listings, actions. Each is opened
//! by [`Client::open`]: the login's token fresh, the opening under the retries and the
//! breaker, the whole within the call's deadline.

use arrow_flight::{Action, Criteria, FlightData, FlightDescriptor, FlightInfo, Ticket};
use bytes::Bytes;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{Future, FutureExt, StreamExt, TryStreamExt};

use super::stream::{Deadline, RecordBatchStream};
use super::Client;
use crate::ipc::decode::Decoder;
use crate::listing::ServiceInfo;
use crate::request::FetchRequest;
use crate::{ticket, Error, FlightRequest, Result};

impl Client {
    /// Opens a call: the login's token renewed if it is due, `attempt` under the
    /// client's retries and breaker, all within the call's deadline; the deadline's
    /// remainder comes back for the call's stream.
    async fn open<T, F, Fut>(&self, attempt: F) -> Result<(T, Option<Deadline>)>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        // One timer for the whole call: the opening (with its retries), then its stream.
        let mut deadline = Deadline::of(self.options.timeout);
        let opening = async {
            self.fresh().await?;
            match &self.guard {
                Some(guard) => guard.call(attempt).await,
                None => {
                    let mut attempt = attempt;
                    attempt().await
                }
            }
        };
        let opened = Deadline::within(&mut deadline, opening).await?;
        Ok((opened, deadline))
    }

    /// Fetches the result of a typed request. A request of a partitioned service (the
    /// server's listing says which, learnt once per client) is read through its
    /// endpoints ([`Client::fetch_spread`]; a request the service leaves whole with one
    /// DoGet still); any other with one DoGet.
    pub async fn fetch<R: FlightRequest>(&self, request: R) -> Result<RecordBatchStream> {
        let ticket = ticket::encode(&request)?;
        if self.is_partitioned(R::NAME).await {
            return self.fetch_spread(ticket).await;
        }
        self.fetch_ticket(ticket).await
    }

    /// Whether the server splits requests named `name` into partitions (from its
    /// `list_services`, asked once per client and its clones; a server without the
    /// listing has none).
    pub async fn is_partitioned(&self, name: &str) -> bool {
        let names = self
            .partitioned
            .get_or_init(|| async {
                match self.list_services().await {
                    Ok(services) => services
                        .into_iter()
                        .filter(|s| s.partitioned)
                        .map(|s| s.name)
                        .collect(),
                    Err(_) => Default::default(),
                }
            })
            .await;
        names.contains(name)
    }

    /// Fetches the result of raw ticket bytes (a request written in another language, say).
    pub async fn fetch_ticket(&self, ticket: impl Into<Bytes>) -> Result<RecordBatchStream> {
        let ticket: Bytes = ticket.into();
        let (stream, deadline) = self
            .open(|| async {
                let request = self.options.request(Ticket::new(ticket.clone()));
                let response = self.grpc().do_get(request).await?.into_inner();
                RecordBatchStream::start(Decoder::new(response)).await
            })
            .await?;
        Ok(stream.within(deadline))
    }

    /// The messages of a DoGet as the server sent them, the schema's first, undecoded:
    /// for a relay that passes them on (the gateway's proxy writes them as an Arrow IPC
    /// stream without decoding and encoding the batches again). Opened under the
    /// client's retries; the client's deadline covers the whole stream.
    #[cfg_attr(not(feature = "rest"), allow(dead_code))]
    pub(crate) async fn fetch_messages(
        &self,
        ticket: Bytes,
    ) -> Result<BoxStream<'static, Result<FlightData>>> {
        let ((first, rest), deadline) = self
            .open(|| async {
                let request = self.options.request(Ticket::new(ticket.clone()));
                let mut messages = self.grpc().do_get(request).await?.into_inner();
                let first = messages.message().await?.ok_or_else(|| {
                    Error::status(tonic::Code::Internal, "the server sent no schema")
                })?;
                Ok((first, messages))
            })
            .await?;
        let messages = futures::stream::once(async { Ok(first) })
            .chain(rest.map(|m| m.map_err(Error::from)))
            .boxed();
        Ok(Deadline::bound(deadline, messages))
    }

    /// GetFlightInfo for a request: its schema and the endpoint to fetch it from.
    pub async fn flight_info<R: FlightRequest>(&self, request: &R) -> Result<FlightInfo> {
        self.info_of(FlightDescriptor::new_cmd(ticket::encode(request)?))
            .await
    }

    /// GetFlightInfo of a descriptor.
    pub(super) async fn info_of(&self, descriptor: FlightDescriptor) -> Result<FlightInfo> {
        let (info, _) = self
            .open(|| async {
                let request = self.options.request(descriptor.clone());
                Ok(self.grpc().get_flight_info(request).await?.into_inner())
            })
            .await?;
        Ok(info)
    }

    /// The services the server offers (the `list_services` action).
    pub async fn list_services(&self) -> Result<Vec<ServiceInfo>> {
        let body = self.action("list_services").await?;
        serde_json::from_slice(&body).map_err(|e| {
            Error::status(
                tonic::Code::Internal,
                format!("bad list_services answer: {e}"),
            )
        })
    }

    /// Runs an action and returns the body of its first result.
    pub async fn action(&self, name: &str) -> Result<Bytes> {
        self.action_with(name, Bytes::new()).await
    }

    /// Runs an action with a body and returns the body of its first result.
    pub(super) async fn action_with(&self, name: &str, body: Bytes) -> Result<Bytes> {
        let (mut results, mut deadline) = self
            .open(|| async {
                let action = self
                    .options
                    .request(Action::new(name.to_owned(), body.clone()));
                Ok(self.grpc().do_action(action).await?.into_inner())
            })
            .await?;
        let first = Deadline::within(&mut deadline, async { Ok(results.message().await?) }).await?;
        Ok(first.map(|result| result.body).unwrap_or_default())
    }

    /// ListFlights: one `FlightInfo` per service.
    pub async fn list_flights(&self) -> Result<Vec<FlightInfo>> {
        let (infos, deadline) = self
            .open(|| async {
                let request = self.options.request(Criteria::default());
                Ok(self.grpc().list_flights(request).await?.into_inner())
            })
            .await?;
        Deadline::bound(deadline, infos.map_err(Error::from).boxed())
            .try_collect()
            .await
    }
}

impl FetchRequest for Client {
    type Output = BoxFuture<'static, Result<RecordBatchStream>>;

    fn fetch_request<R: FlightRequest>(&self, request: R) -> Self::Output {
        let client = self.clone();
        async move { client.fetch(request).await }.boxed()
    }
}
