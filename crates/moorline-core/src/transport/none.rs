//! Placeholder transport for native builds without the `native` feature: creating a
//! client fails with [`ClientError::NoTransport`](crate::ClientError::NoTransport).

use crate::client::{Client, ClientInner, Shared};
use crate::ClientError;

pub(crate) struct Io;

impl Io {
    pub(crate) fn new() -> Result<Io, ClientError> {
        Err(ClientError::NoTransport)
    }
}

pub(crate) fn start(_inner: &Shared<ClientInner>) {}

pub(crate) fn pump(_inner: &Shared<ClientInner>) {}

pub(crate) fn random_seed() -> u64 {
    0
}

pub(crate) fn shared_client(
    _key: &str,
    create: impl FnOnce() -> Result<Client, ClientError>,
) -> Result<Client, ClientError> {
    create()
}
