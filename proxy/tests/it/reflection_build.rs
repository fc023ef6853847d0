//! Making a reflection backend's descriptors of what it sent (up to the 16 MiB budget,
//! thousands of files) runs off the proxy's async worker: while a large set is being made
//! into descriptors and REST routes, other calls are answered.
//!
//! The test's runtime has one thread, which the proxy, the backend and the client share,
//! as a proxy run with `--worker-threads 1`: were the set made on that thread, no call
//! could be answered until it was done. What happens when is read from the proxy's log
//! events (the order the proxy saw), not from wall-clock bounds.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use crate::support::{self, reflection, reflection::REFLECTION};

use bytes::Bytes;
use grpcweb_proxy::ReflectionConfig;
use grpcweb_test_support::{Code, FakeBackend, HttpVersion, RecordedRequest, Reply, WebClient};
use prost::Message as _;
use prost_types::{
    DescriptorProto, FieldDescriptorProto, FileDescriptorProto, MethodDescriptorProto,
    ServiceDescriptorProto, field_descriptor_proto,
};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tracing_subscriber::layer::{Context, SubscriberExt as _};

/// The proxy's debug event as it starts making the fetched files into descriptors.
const MAKING: &str = "server reflection: making the descriptors";
/// The proxy's event once they are installed.
const INSTALLED: &str = "descriptors fetched by server reflection";

/// The messages of the proxy's log events seen, in order, and when.
#[derive(Clone, Default)]
struct Events(Arc<Mutex<Vec<(Instant, String)>>>);

impl Events {
    fn seen(&self, message: &str) -> bool {
        self.at(message).is_some()
    }

    fn at(&self, message: &str) -> Option<Instant> {
        let events = self.0.lock().unwrap();
        events.iter().find(|(_, m)| m == message).map(|(t, _)| *t)
    }

    async fn wait_for(&self, message: &str) {
        while !self.seen(message) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Events {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        struct Message(Option<String>);
        impl tracing::field::Visit for Message {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                if field.name() == "message" {
                    self.0 = Some(format!("{value:?}"));
                }
            }
        }
        if !event.metadata().target().starts_with("grpcweb") {
            return;
        }
        let mut message = Message(None);
        event.record(&mut message);
        if let Some(m) = message.0 {
            self.0.lock().unwrap().push((Instant::now(), m));
        }
    }
}

/// `parts` files `part{i}.proto`, each with a message of `fields` fields and a service of
/// `methods` methods, and `big.proto` importing them all with service `big.v1.S` (method
/// `M`): the files' serialized forms, `big.proto` first.
pub(crate) fn large_set(parts: usize, fields: usize, methods: usize) -> Vec<Vec<u8>> {
    let part = |i: usize| FileDescriptorProto {
        name: Some(format!("part{i}.proto")),
        package: Some("big.v1".to_owned()),
        syntax: Some("proto3".to_owned()),
        message_type: vec![DescriptorProto {
            name: Some(format!("Message{i}")),
            field: (0..fields)
                .map(|f| FieldDescriptorProto {
                    name: Some(format!("field_{f}")),
                    number: Some(i32::try_from(f).unwrap() + 1),
                    label: Some(field_descriptor_proto::Label::Optional as i32),
                    r#type: Some(field_descriptor_proto::Type::String as i32),
                    json_name: Some(format!("field{f}")),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }],
        service: vec![ServiceDescriptorProto {
            name: Some(format!("Service{i}")),
            method: (0..methods)
                .map(|m| MethodDescriptorProto {
                    name: Some(format!("Method{m}")),
                    input_type: Some(format!(".big.v1.Message{i}")),
                    output_type: Some(format!(".big.v1.Message{i}")),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }],
        ..Default::default()
    };
    let root = FileDescriptorProto {
        name: Some("big.proto".to_owned()),
        package: Some("big.v1".to_owned()),
        syntax: Some("proto3".to_owned()),
        dependency: (0..parts).map(|i| format!("part{i}.proto")).collect(),
        service: vec![ServiceDescriptorProto {
            name: Some("S".to_owned()),
            method: vec![MethodDescriptorProto {
                name: Some("M".to_owned()),
                input_type: Some(".big.v1.Message0".to_owned()),
                output_type: Some(".big.v1.Message0".to_owned()),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    };
    std::iter::once(root)
        .chain((0..parts).map(part))
        .map(|f| f.encode_to_vec())
        .collect()
}

/// A reflection service listing `big.v1.S` and answering any file request with all of
/// `files`; other calls are answered OK with an empty message.
fn serving(files: Vec<Vec<u8>>) -> impl Fn(&RecordedRequest) -> Reply {
    move |req| {
        if req.path() != REFLECTION {
            return Reply::ok(vec![Bytes::new()]);
        }
        reflection::answers(req, "big.v1.S", &files)
    }
}

/// The proxy in front of a reflection backend serving `files`, and the log events of
/// the test's thread (all of the proxy's: the test's runtime has one thread).
async fn serve_set(files: Vec<Vec<u8>>) -> (FakeBackend, support::Running, Events, Guards) {
    let events = Events::default();
    // With one dispatcher registered, tracing asks only the current thread's when a
    // callsite is first hit, and another test's thread (with none) would turn a callsite
    // off for good: a second one makes it ask every registered dispatcher.
    let second = tracing::Dispatch::new(tracing_subscriber::registry());
    let log = tracing::subscriber::set_default(tracing_subscriber::registry().with(events.clone()));
    let backend = FakeBackend::start(serving(files)).await.unwrap();
    let proxy = support::proxy(&backend.url(), |c| {
        c.backends[0].reflection = Some(ReflectionConfig {
            timeout: Duration::from_secs(120),
            ..ReflectionConfig::default()
        });
    })
    .await;
    (
        backend,
        proxy,
        events,
        Guards {
            _second: second,
            _log: log,
        },
    )
}

/// What keeps the test's log events coming (held, never read).
struct Guards {
    _second: tracing::Dispatch,
    _log: tracing::subscriber::DefaultGuard,
}

#[tokio::test]
async fn calls_are_answered_while_a_large_set_is_made_into_descriptors() {
    // About 12.5 MiB: its making takes seconds, a round trip milliseconds.
    let (_backend, proxy, events, _log) = serve_set(large_set(4000, 60, 30)).await;
    grpcweb_test_support::within(Duration::from_secs(120), events.wait_for(MAKING))
        .await
        .unwrap();
    // A call that needs no descriptors, made while the set is being made.
    let res = WebClient::new(HttpVersion::H2)
        .call(proxy.addr, "/other.v1.Other/Call")
        .message(b"")
        .send()
        .await
        .unwrap();
    assert_eq!(res.grpc_status(), Some(Code::Ok));
    assert!(
        !events.seen(INSTALLED),
        "the call was answered only once the descriptors were made"
    );
    let installed =
        grpcweb_test_support::within(Duration::from_secs(300), events.wait_for(INSTALLED)).await;
    assert!(installed.is_ok(), "{:?}", events.0.lock().unwrap());
    // The set was installed: its methods take JSON.
    let res = WebClient::new(HttpVersion::H1)
        .call(proxy.addr, "/big.v1.Service7/Method3")
        .content_type("application/grpc-web+json")
        .message("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(res.grpc_status(), Some(Code::Ok));
}

/// How long the proxy takes to make the largest set the budget lets a backend send
/// (just under 16 MiB: 5100 files, 153 000 methods) into descriptors and routes: run with
/// `--ignored --nocapture`, in a release build for the figure that matters.
#[tokio::test]
#[ignore = "a measurement"]
async fn time_to_make_the_largest_set() {
    let files = large_set(5100, 60, 30);
    let bytes: usize = files.iter().map(Vec::len).sum();
    let (_backend, _proxy, events, _log) = serve_set(files).await;
    grpcweb_test_support::within(Duration::from_secs(600), events.wait_for(INSTALLED))
        .await
        .unwrap();
    let took = events.at(INSTALLED).unwrap() - events.at(MAKING).unwrap();
    eprintln!("{bytes} bytes of files: made into descriptors in {took:?}");
}
