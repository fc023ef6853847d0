//! What a [`GrpcWebLayer`](crate::GrpcWebLayer) was configured with, shared by its
//! services.

use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

use crate::budget::RequestBudget;

/// The default of [`GrpcWebLayer::max_buffered_request_bytes`](crate::GrpcWebLayer::max_buffered_request_bytes): 64 MiB, sixteen whole
/// messages of the default largest size.
pub const DEFAULT_MAX_BUFFERED_REQUEST_BYTES: usize = 64 * 1024 * 1024;

#[derive(Clone, Debug)]
pub(crate) struct WebConfig {
    pub(crate) max_message_size: usize,
    pub(crate) max_timeout: Option<Duration>,
    pub(crate) pass_through_other: bool,
    pub(crate) body_read_timeout: Duration,
    pub(crate) allow_request_streaming: bool,
    pub(crate) request_idle_timeout: Duration,
    pub(crate) shutdown: Option<CancellationToken>,
    pub(crate) max_response_message_size: Option<usize>,
    pub(crate) request_budget: Option<Arc<RequestBudget>>,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            max_message_size: grpcweb_protocol::framing::DEFAULT_MAX_FRAME_LEN,
            max_timeout: None,
            pass_through_other: false,
            body_read_timeout: Duration::from_secs(30),
            allow_request_streaming: false,
            request_idle_timeout: Duration::from_secs(60),
            shutdown: None,
            max_response_message_size: None,
            request_budget: Some(RequestBudget::new(DEFAULT_MAX_BUFFERED_REQUEST_BYTES)),
        }
    }
}
