//! `descriptors = "reflection"` on a backend: its descriptors come from the backend's gRPC
//! server reflection service, within the budgets of a `reflection` table.

use serde::Deserialize;
use std::time::Duration;

use super::ConfigError;
use super::duration::{parse_duration, size_value};

/// How the descriptors of a backend with `descriptors = "reflection"` are fetched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReflectionConfig {
    /// Least time between two fetches that calls naming an unknown method start
    /// (default 10 s): more misses meanwhile get UNIMPLEMENTED at once.
    pub refetch_interval: Duration,
    /// Time one fetch may take, every reflection answer included (default 10 s).
    pub timeout: Duration,
    /// Most bytes of reflection answers one fetch reads (default 16 MiB); a fetch over it
    /// is refused and the descriptors stay as they were.
    pub max_bytes: usize,
}

impl Default for ReflectionConfig {
    fn default() -> Self {
        Self {
            refetch_interval: Duration::from_secs(10),
            timeout: Duration::from_secs(10),
            max_bytes: 16 << 20,
        }
    }
}

/// The `reflection` table of a backend.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileReflection {
    refetch_interval: Option<String>,
    timeout: Option<String>,
    max_bytes: Option<toml::Value>,
}

/// The reflection settings of backend `key` from its `descriptors` and `reflection`
/// keys: `None` when its descriptors come from files only.
pub(super) fn from_file(
    key: &str,
    descriptors: Option<&str>,
    table: Option<FileReflection>,
) -> Result<Option<ReflectionConfig>, ConfigError> {
    match (descriptors, table) {
        (None | Some("files"), None) => Ok(None),
        (None | Some("files"), Some(_)) => Err(ConfigError::new(
            format!("{key}.reflection"),
            "needs descriptors = \"reflection\"",
        )),
        (Some("reflection"), table) => {
            let mut config = ReflectionConfig::default();
            let Some(t) = table else {
                return Ok(Some(config));
            };
            let duration = |name: &str, v: &str| {
                parse_duration(v)
                    .map_err(|m| ConfigError::new(format!("{key}.reflection.{name}"), m))
            };
            if let Some(v) = t.refetch_interval {
                config.refetch_interval = duration("refetch_interval", &v)?;
            }
            if let Some(v) = t.timeout {
                config.timeout = duration("timeout", &v)?;
            }
            if let Some(v) = t.max_bytes {
                config.max_bytes = size_value(&v)
                    .map_err(|m| ConfigError::new(format!("{key}.reflection.max_bytes"), m))?;
            }
            Ok(Some(config))
        }
        (Some(other), _) => Err(ConfigError::new(
            format!("{key}.descriptors"),
            format!("{other:?}: expected \"files\" or \"reflection\""),
        )),
    }
}

/// Checks the values that a default cannot make wrong.
pub(super) fn validate(key: &str, config: &ReflectionConfig) -> Result<(), ConfigError> {
    if config.timeout.is_zero() {
        return Err(ConfigError::new(
            format!("{key}.reflection.timeout"),
            "must be more than 0",
        ));
    }
    if config.max_bytes == 0 {
        return Err(ConfigError::new(
            format!("{key}.reflection.max_bytes"),
            "must be more than 0",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use std::time::Duration;

    fn backend(keys: &str) -> Result<Config, crate::config::ConfigError> {
        Config::from_toml(&format!(
            "[[backends]]\nname = \"b\"\nendpoints = [\"http://127.0.0.1:1\"]\n{keys}"
        ))
    }

    #[test]
    fn descriptors_reflection_with_defaults_and_budgets() {
        let config = backend("descriptors = \"reflection\"").unwrap();
        let r = config.backends[0].reflection.clone().unwrap();
        assert_eq!(r, super::ReflectionConfig::default());
        assert_eq!(r.refetch_interval, Duration::from_secs(10));
        config.validate().unwrap();

        let config = backend(
            "descriptors = \"reflection\"\nreflection = { refetch_interval = \"1m\", timeout = \"2s\", max_bytes = \"1MiB\" }",
        )
        .unwrap();
        let r = config.backends[0].reflection.clone().unwrap();
        assert_eq!(r.refetch_interval, Duration::from_secs(60));
        assert_eq!(r.timeout, Duration::from_secs(2));
        assert_eq!(r.max_bytes, 1 << 20);

        let config = backend("descriptors = \"files\"").unwrap();
        assert_eq!(config.backends[0].reflection, None);
    }

    #[test]
    fn bad_reflection_keys_are_named() {
        let e = backend("descriptors = \"grpc\"").unwrap_err();
        assert_eq!(e.key(), "backends[0].descriptors");
        let e = backend("reflection = { timeout = \"1s\" }").unwrap_err();
        assert_eq!(e.key(), "backends[0].reflection");
        let e = backend("descriptors = \"reflection\"\nreflection = { timeout = \"soon\" }")
            .unwrap_err();
        assert_eq!(e.key(), "backends[0].reflection.timeout");
        let e = backend("descriptors = \"reflection\"\nreflection = { max_bytes = 0 }")
            .unwrap()
            .validate()
            .unwrap_err();
        assert_eq!(e.key(), "backends[0].reflection.max_bytes");
    }

    #[test]
    fn rules_may_name_methods_that_reflection_will_bring() {
        let rule = "[[transcoding.rules]]\nselector = \"acme.v1.Later.Get\"\nget = \"/v1/later\"\n";
        let text =
            format!("{rule}[[backends]]\nname = \"b\"\nendpoints = [\"http://127.0.0.1:1\"]\n");
        let e = Config::from_toml(&text).unwrap().validate().unwrap_err();
        assert_eq!(e.key(), "transcoding.rules[0]");
        Config::from_toml(&format!("{text}descriptors = \"reflection\"\n"))
            .unwrap()
            .validate()
            .unwrap();
    }
}
