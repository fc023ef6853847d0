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
    fn from(e: CorsError) -> Self {
        Self::new(e.key(), e.message())
    }
}
