//! The client's TCP connection, whose small writes of one moment leave together.
//!
//! HTTP/2 writes a new request's HEADERS as soon as the stream opens, and its body
//! (the ticket) a moment later, once the stream has been given send capacity: two
//! socket writes per call, two loopback packets, two wake-ups of the server. Here small
//! writes are gathered and a flush waits one turn of the runtime, so the frames queued
//! in that turn leave in one write. Large writes go straight through, and only a
//! flush of a few small frames waits.
//!
//! The connection tries the host's addresses one after another and sets no TCP
//! keepalive; HTTP/2 keepalive pings, where wanted, come from the endpoint.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Writes below this size are gathered; so is the buffer at most.
const GATHER_BELOW: usize = 16 * 1024;
/// A flush waits a turn only while fewer bytes than this are gathered (a request's
/// HEADERS, a window update), never in front of a stream of larger writes.
const WAIT_BELOW: usize = 1024;

/// A TCP stream (no Nagle delay) that gathers small writes until a flush.
pub(crate) struct GatheringStream {
    io: TokioIo<TcpStream>,
    gathered: Vec<u8>,
    waited: bool,
}

impl GatheringStream {
    /// Connects to `host:port`.
    pub(crate) async fn connect(host: &str, port: u16) -> io::Result<Self> {
        let tcp = TcpStream::connect((host, port)).await?;
        tcp.set_nodelay(true)?;
        Ok(Self {
            io: TokioIo::new(tcp),
            gathered: Vec::with_capacity(GATHER_BELOW),
            waited: false,
        })
    }

    fn gathers(&self, len: usize) -> bool {
        len < GATHER_BELOW && self.gathered.len() + len <= GATHER_BELOW
    }

    /// Writes out what was gathered.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.gathered.is_empty() {
            let n = ready!(Pin::new(&mut self.io).poll_write(cx, &self.gathered))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.gathered.drain(..n);
        }
        self.waited = false;
        Poll::Ready(Ok(()))
    }
}

impl Read for GatheringStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl Write for GatheringStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_vectored(cx, &[IoSlice::new(buf)])
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        let len = bufs.iter().map(|b| b.len()).sum();
        if me.gathers(len) {
            for buf in bufs {
                me.gathered.extend_from_slice(buf);
            }
            return Poll::Ready(Ok(len));
        }
        ready!(me.drain(cx))?;
        Pin::new(&mut me.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    /// The first flush after a few small writes yields once, so the tasks woken in
    /// this turn (the body of a request just opened) can add their frames; the next
    /// one writes.
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        if !me.gathered.is_empty() && me.gathered.len() < WAIT_BELOW && !me.waited {
            me.waited = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        ready!(me.drain(cx))?;
        Pin::new(&mut me.io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        ready!(me.drain(cx))?;
        Pin::new(&mut me.io).poll_shutdown(cx)
    }
}

/// The connector of the client's channel: a [`GatheringStream`] to the URI's host and port.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Connector;

impl tower_service::Service<http::Uri> for Connector {
    type Response = GatheringStream;
    type Error = io::Error;
    type Future = futures::future::BoxFuture<'static, io::Result<GatheringStream>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: http::Uri) -> Self::Future {
        Box::pin(async move {
            let host = uri
                .host()
                .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no host"))?
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned();
            let port = uri
                .port_u16()
                .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no port"))?;
            GatheringStream::connect(&host, port).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::future::poll_fn;
    use tokio::io::AsyncReadExt;
    use tokio::net::TcpListener;

    async fn pair() -> (GatheringStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("address").port();
        let (stream, accepted) = tokio::join!(
            GatheringStream::connect("127.0.0.1", port),
            listener.accept()
        );
        (stream.expect("connect"), accepted.expect("accept").0)
    }

    async fn write_all(stream: &mut GatheringStream, mut buf: &[u8]) {
        while !buf.is_empty() {
            let n = poll_fn(|cx| Pin::new(&mut *stream).poll_write(cx, buf))
                .await
                .expect("write");
            buf = &buf[n..];
        }
    }

    /// Small and large writes arrive whole and in order.
    #[tokio::test]
    async fn writes_arrive_in_order() {
        let (mut stream, mut peer) = pair().await;
        let small = b"small ".repeat(10);
        let large = vec![7_u8; 3 * GATHER_BELOW];
        write_all(&mut stream, &small).await;
        write_all(&mut stream, &large).await;
        write_all(&mut stream, b"end").await;
        poll_fn(|cx| Pin::new(&mut stream).poll_shutdown(cx))
            .await
            .expect("shutdown");
        let mut got = Vec::new();
        peer.read_to_end(&mut got).await.expect("read");
        assert_eq!(got, [&small[..], &large[..], b"end"].concat());
    }

    /// The first flush after a small write yields once with nothing sent; the second sends.
    #[tokio::test]
    async fn a_flush_waits_one_turn() {
        let (mut stream, mut peer) = pair().await;
        write_all(&mut stream, b"headers").await;
        let mut cx = Context::from_waker(futures::task::noop_waker_ref());
        assert!(Pin::new(&mut stream).poll_flush(&mut cx).is_pending());
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let mut early = [0_u8; 16];
        let nothing = peer.try_read(&mut early).map_err(|e| e.kind());
        assert_eq!(
            nothing,
            Err(io::ErrorKind::WouldBlock),
            "nothing is sent yet"
        );
        write_all(&mut stream, b" and body").await;
        poll_fn(|cx| Pin::new(&mut stream).poll_flush(cx))
            .await
            .expect("flush");
        let mut got = vec![0_u8; 16];
        peer.read_exact(&mut got).await.expect("read");
        assert_eq!(&got, b"headers and body");
    }

    /// A flush with more than a few small frames gathered writes at once.
    #[tokio::test]
    async fn a_flush_of_larger_writes_does_not_wait() {
        let (mut stream, _peer) = pair().await;
        write_all(&mut stream, &[1; WAIT_BELOW]).await;
        let mut cx = Context::from_waker(futures::task::noop_waker_ref());
        assert!(Pin::new(&mut stream).poll_flush(&mut cx).is_ready());
        assert!(stream.gathered.is_empty());
    }

    /// Vectored writes around the gathering limit, with a peer that reads late: every
    /// byte arrives, in order.
    #[tokio::test]
    async fn vectored_writes_under_back_pressure_lose_nothing() {
        let (mut stream, mut peer) = pair().await;
        let reader = tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            let mut got = Vec::new();
            peer.read_to_end(&mut got).await.expect("read");
            got
        });
        let mut sent = Vec::new();
        let sizes = [1, 254, 255, 4_000, GATHER_BELOW - 1, GATHER_BELOW, 900_000];
        for round in 0..60_usize {
            let a = vec![round as u8; sizes[round % sizes.len()]];
            let b = vec![!(round as u8); sizes[(round + 3) % sizes.len()] / 2];
            let mut slices = [IoSlice::new(&a), IoSlice::new(&b)];
            let mut rest: &mut [IoSlice<'_>] = &mut slices;
            while !rest.is_empty() {
                let n = poll_fn(|cx| Pin::new(&mut stream).poll_write_vectored(cx, rest))
                    .await
                    .expect("write");
                IoSlice::advance_slices(&mut rest, n);
            }
            sent.extend_from_slice(&a);
            sent.extend_from_slice(&b);
            if round % 7 == 0 {
                poll_fn(|cx| Pin::new(&mut stream).poll_flush(cx))
                    .await
                    .expect("flush");
            }
        }
        poll_fn(|cx| Pin::new(&mut stream).poll_shutdown(cx))
            .await
            .expect("shutdown");
        let got = reader.await.expect("reader");
        assert_eq!(got.len(), sent.len());
        assert!(got == sent, "the bytes arrive in order");
    }

    /// The connector reaches bracketed IPv6 hosts and refuses a URI without a port.
    #[tokio::test]
    async fn the_connector_needs_a_host_and_a_port() {
        use tower_service::Service;
        let listener = TcpListener::bind("[::1]:0").await;
        if let Ok(listener) = listener {
            let port = listener.local_addr().expect("address").port();
            let uri: http::Uri = format!("http://[::1]:{port}").parse().expect("uri");
            let (stream, accepted) = tokio::join!(Connector.call(uri), listener.accept());
            assert!(stream.is_ok() && accepted.is_ok());
        }
        let uri: http::Uri = "http://127.0.0.1".parse().expect("uri");
        let refused = Connector.call(uri).await.map(|_| ()).map_err(|e| e.kind());
        assert_eq!(refused, Err(io::ErrorKind::InvalidInput));
    }
}
