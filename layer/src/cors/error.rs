//! [`CorsError`]: a CORS policy that cannot be compiled.

use std::fmt;

/// Why a [`CorsConfig`](super::CorsConfig) was refused: the setting at fault and what is
/// wrong with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CorsError {
    key: &'static str,
    message: String,
}

impl CorsError {
    pub(crate) fn new(key: &'static str, message: impl Into<String>) -> Self {
        Self {
            key,
            message: message.into(),
        }
    }

    /// The setting at fault: `allowed-origin` or `allowed-header`.
    pub fn key(&self) -> &'static str {
        self.key
    }

    /// What is wrong with it.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for CorsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid {}: {}", self.key, self.message)
    }
}

impl std::error::Error for CorsError {}
