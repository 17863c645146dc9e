//! Metrics: counters and gauges of the realtime path, served at `/metrics` in the Prometheus text format.

use prometheus_client::{
    encoding::text::encode,
    metrics::{counter::Counter, gauge::Gauge},
    registry::Registry,
};

/// The app's metrics. One registry per app instance, so tests running side by side never mix numbers.
pub struct Metrics {
    registry: Registry,
    pub connections: Gauge,
    pub subscriptions: Gauge,
    pub events_published: Counter,
    pub messages_sent: Counter,
    pub resyncs: Counter,
    pub dropped: Counter,
    pub protocol_errors: Counter,
    pub renders: Counter,
    pub ack_lag: Gauge,
    /// Cluster roles: 1 while this node's Redis connection works.
    pub redis_up: Gauge,
    /// Writer: events relayed to the Redis stream.
    pub relayed: Counter,
    /// Edge: gaps in the stream filled from the writer's event log.
    pub gap_fills: Counter,
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("liveboard");
        let m = Self {
            connections: Gauge::default(),
            subscriptions: Gauge::default(),
            events_published: Counter::default(),
            messages_sent: Counter::default(),
            resyncs: Counter::default(),
            dropped: Counter::default(),
            protocol_errors: Counter::default(),
            renders: Counter::default(),
            ack_lag: Gauge::default(),
            redis_up: Gauge::default(),
            relayed: Counter::default(),
            gap_fills: Counter::default(),
            registry: Registry::default(),
        };
        registry.register("ws_connections", "Open WebSocket connections", m.connections.clone());
        registry.register(
            "ws_subscriptions",
            "Active subscriptions (patterns, views and board views)",
            m.subscriptions.clone(),
        );
        registry.register("events_published", "Events dispatched to subscribers", m.events_published.clone());
        registry.register("ws_messages_sent", "Messages queued to WebSocket clients", m.messages_sent.clone());
        registry.register(
            "ws_resyncs",
            "Connections told to resync (queue overflow, lag, too-old resume)",
            m.resyncs.clone(),
        );
        registry.register("ws_dropped", "Messages dropped because a connection's queue was full", m.dropped.clone());
        registry.register("ws_protocol_errors", "Client messages answered with an error", m.protocol_errors.clone());
        registry.register(
            "fragment_renders",
            "HTML fragments rendered for live views (once per event and variant)",
            m.renders.clone(),
        );
        registry.register(
            "ws_ack_lag",
            "Sum over connections of newest seq minus last acknowledged seq",
            m.ack_lag.clone(),
        );
        registry.register("redis_up", "1 while this node reaches Redis (writer and edge roles)", m.redis_up.clone());
        registry.register("cluster_events_relayed", "Events the writer added to the Redis stream", m.relayed.clone());
        registry.register(
            "cluster_gap_fills",
            "Gaps in the Redis stream an edge filled from the writer",
            m.gap_fills.clone(),
        );
        Self { registry, ..m }
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
