//! [`ConfigError`]: an invalid configuration value, by key.

use std::fmt;

use grpcweb_layer::CorsError;

/// An invalid configuration value: which key, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    key: String,
    message: String,
}

impl ConfigError {
    pub(crate) fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            message: message.into(),
        }
    }

    /// The configuration key at fault (`backends[1].endpoints[0]`, `cors.allowed_origins`).
    pub fn key(&self) -> &str {
        &self.key
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid {}: {}", self.key, self.message)
    }
}

impl std::error::Error for ConfigError {}

impl From<CorsError> for ConfigError {
    /// Named by the config file's keys, as every other error (the layer names its options
    /// as the proxy's flags do).
    fn from(e: CorsError) -> Self {
        let key = match e.key() {
            "allowed-origin" => "cors.allowed_origins",
            "allowed-header" => "cors.allowed_headers",
            other => other,
        };
        Self::new(key, e.message())
    }
}
