//! [`Config::validate`]: every check, each error naming its key.

use http::uri::Scheme;
use std::time::Duration;
use tokio::sync::Semaphore;

use super::duration::check_duration;
use super::{Config, ConfigError, RouteMatch, parse_endpoint};

/// Most worker threads a configuration may ask for.
const MAX_WORKER_THREADS: usize = 1024;

impl Config {
    /// Checks every field; the first problem found names its key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if let Some(n) = self.worker_threads
            && !(1..=MAX_WORKER_THREADS).contains(&n)
        {
            return Err(ConfigError::new(
                "worker_threads",
                format!("{n} is out of range: 1 to {MAX_WORKER_THREADS}"),
            ));
        }
        if self.backends.is_empty() {
            return Err(ConfigError::new(
                "backends",
                "no backend configured: give --backend URL or a [[backends]] table",
            ));
        }
        for (i, b) in self.backends.iter().enumerate() {
            let key = format!("backends[{i}]");
            if b.name.is_empty() {
                return Err(ConfigError::new(format!("{key}.name"), "must not be empty"));
            }
            if self.backends[..i].iter().any(|o| o.name == b.name) {
                return Err(ConfigError::new(
                    format!("{key}.name"),
                    format!("{:?} is used twice", b.name),
                ));
            }
            if b.endpoints.is_empty() {
                return Err(ConfigError::new(
                    format!("{key}.endpoints"),
                    "needs at least one http://host:port",
                ));
            }
            for (j, e) in b.endpoints.iter().enumerate() {
                let url = parse_endpoint(e)
                    .map_err(|m| ConfigError::new(format!("{key}.endpoints[{j}]"), m))?;
                if url.scheme == Scheme::HTTPS && b.tls.ca.is_none() {
                    return Err(ConfigError::new(
                        format!("{key}.ca"),
                        "https:// endpoints need a CA bundle to verify the backend",
                    ));
                }
            }
            if b.tls.ca.is_some() {
                crate::tls::client_config(&key, &b.tls)?;
            }
            if b.max_connections == 0 {
                return Err(ConfigError::new(
                    format!("{key}.max_connections"),
                    "must be at least 1",
                ));
            }
            if let Some(r) = &b.reflection {
                super::reflection::validate(&key, r)?;
            }
            let https = b.endpoints.iter().any(|e| e.starts_with("https://"));
            if b.dns_refresh_interval.is_some() && https && b.tls.server_name.is_none() {
                return Err(ConfigError::new(
                    format!("{key}.server_name"),
                    "dns_refresh_interval with https:// endpoints connects to addresses, so it needs server_name",
                ));
            }
        }
        super::transcoding::validate(&self.transcoding)?;
        super::transcoding(self)?;
        if self.routes.is_empty() && self.backends.len() > 1 {
            return Err(ConfigError::new(
                "routes",
                "several backends need [[routes]] saying which services go where",
            ));
        }
        for (i, r) in self.routes.iter().enumerate() {
            let key = format!("routes[{i}]");
            if !self.backends.iter().any(|b| b.name == r.backend) {
                return Err(ConfigError::new(
                    format!("{key}.backend"),
                    format!("no backend named {:?}", r.backend),
                ));
            }
            match &r.matches {
                RouteMatch::Service(name) | RouteMatch::Package(name) if !is_dotted_name(name) => {
                    return Err(ConfigError::new(
                        key,
                        format!("{name:?} is not a protobuf name (letters, digits, _ and dots)"),
                    ));
                }
                _ => {}
            }
            if self.routes[..i].iter().any(|o| o.matches == r.matches) {
                return Err(ConfigError::new(
                    key,
                    "the same match appears in an earlier route",
                ));
            }
        }
        let lists = [
            (
                "forwarding.remove_headers",
                Some(&self.forwarding.remove_headers),
            ),
            (
                "forwarding.allow_headers",
                self.forwarding.allow_headers.as_ref(),
            ),
        ];
        for (key, list) in lists {
            for name in list.into_iter().flatten() {
                if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
                    return Err(ConfigError::new(
                        key,
                        format!("{name:?} is not a header name"),
                    ));
                }
            }
        }
        self.cors.validate()?;
        if let Some(tls) = &self.tls {
            crate::tls::server_config(tls)?;
        }
        let limits = &self.limits;
        if limits.max_message_size == 0 || u32::try_from(limits.max_message_size).is_err() {
            return Err(ConfigError::new(
                "limits.max_message_size",
                "must be between 1 byte and 4 GiB",
            ));
        }
        if limits
            .max_buffered_request_bytes
            .is_some_and(|b| b < limits.max_message_size.saturating_add(64 * 1024))
        {
            // Else a message of the largest size could never be read.
            return Err(ConfigError::new(
                "limits.max_buffered_request_bytes",
                "must be at least limits.max_message_size plus 64KiB",
            ));
        }
        if limits.max_connections == 0 || limits.max_connections > Semaphore::MAX_PERMITS {
            return Err(ConfigError::new(
                "limits.max_connections",
                format!("must be between 1 and {}", Semaphore::MAX_PERMITS),
            ));
        }
        if limits.max_concurrent_streams == 0 {
            return Err(ConfigError::new(
                "limits.max_concurrent_streams",
                "must be at least 1",
            ));
        }
        if limits.max_header_size == 0 {
            return Err(ConfigError::new(
                "limits.max_header_size",
                "must be at least 1 byte",
            ));
        }
        if let Some(n) = limits.max_response_message_size
            && (n == 0 || u32::try_from(n).is_err())
        {
            return Err(ConfigError::new(
                "limits.max_response_message_size",
                "must be between 1 byte and 4 GiB",
            ));
        }
        self.validate_durations()?;
        if self.admin_listen == Some(self.listen) && self.listen.port() != 0 {
            return Err(ConfigError::new("admin_listen", "must differ from listen"));
        }
        Ok(())
    }
}

impl Config {
    /// Every duration is at most [`MAX_DURATION`](super::MAX_DURATION), so deadlines computed from it fit the
    /// clock; the periods of loops are not zero (a zero period would spin).
    fn validate_durations(&self) -> Result<(), ConfigError> {
        let limits = &self.limits;
        let mut durations = vec![
            ("limits.max_timeout".to_owned(), limits.max_timeout),
            (
                "limits.header_read_timeout".to_owned(),
                Some(limits.header_read_timeout),
            ),
            (
                "limits.body_read_timeout".to_owned(),
                Some(limits.body_read_timeout),
            ),
            ("limits.idle_timeout".to_owned(), Some(limits.idle_timeout)),
            (
                "limits.drain_timeout".to_owned(),
                Some(limits.drain_timeout),
            ),
            ("cors.max_age".to_owned(), Some(self.cors.max_age)),
        ];
        // A zero idle budget would end every request stream at its first pause.
        let mut periods = vec![(
            "limits.request_idle_timeout".to_owned(),
            Some(limits.request_idle_timeout),
        )];
        if let Some(tls) = &self.tls {
            periods.push(("tls.reload_interval".to_owned(), Some(tls.reload_interval)));
        }
        for (i, b) in self.backends.iter().enumerate() {
            let key = format!("backends[{i}]");
            durations.push((format!("{key}.connect_timeout"), Some(b.connect_timeout)));
            periods.push((
                format!("{key}.health_check_interval"),
                b.health_check_interval,
            ));
            periods.push((
                format!("{key}.dns_refresh_interval"),
                b.dns_refresh_interval,
            ));
        }
        for (i, r) in self.routes.iter().enumerate() {
            durations.push((format!("routes[{i}].max_duration"), r.max_duration));
        }
        for (key, d) in &periods {
            if *d == Some(Duration::ZERO) {
                return Err(ConfigError::new(key, "must not be zero"));
            }
        }
        for (key, d) in durations.iter().chain(&periods) {
            if let Some(d) = d {
                check_duration(*d).map_err(|m| ConfigError::new(key, m))?;
            }
        }
        Ok(())
    }
}

fn is_dotted_name(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|part| {
            !part.is_empty()
                && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                && !part.as_bytes()[0].is_ascii_digit()
        })
}
