//! An edge forwards every request it does not serve itself (pages, forms, the JSON API, assets) to
//! the writer unchanged: method, path, query, headers (cookies included) and body, streamed both
//! ways. The writer checks `Origin`, CSRF and sessions as it would for a direct request, since the
//! `Host` header is kept. Hop-by-hop headers are dropped; the client's address is appended to
//! `X-Forwarded-For` (the writer reads it only with `CLIENT_IP_HEADER` set).
//!
//! browser → edge → **proxy** → writer → response streamed back.

use std::{net::SocketAddr, sync::Arc};

use axum::{
    body::Body,
    extract::{ConnectInfo, Request},
    http::{HeaderName, HeaderValue, StatusCode, Uri, header},
    response::{IntoResponse, Response},
};
use hyper_util::client::legacy::{Client, connect::HttpConnector};

use super::reads::SECRET_HEADER;

/// The forwarding client and where to.
#[derive(Clone)]
pub struct Proxy {
    writer: Arc<str>,
    http: Client<HttpConnector, Body>,
}

impl Proxy {
    pub fn new(writer: &str) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        Self {
            writer: writer.trim_end_matches('/').into(),
            http: Client::builder(hyper_util::rt::TokioExecutor::new()).build(connector),
        }
    }
}

/// Headers that belong to one hop, not to the request (RFC 9110 §7.6.1).
const HOP_BY_HOP: &[HeaderName] = &[
    header::CONNECTION,
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

fn strip(headers: &mut axum::http::HeaderMap) {
    for h in HOP_BY_HOP {
        headers.remove(h);
    }
    headers.remove("keep-alive");
}

/// The edge's fallback handler: the request, forwarded.
pub async fn forward(proxy: Proxy, req: Request) -> Response {
    let path = req.uri().path();
    // The writer's internal endpoints are for edges, never for clients.
    if path.starts_with("/internal/") {
        return crate::error::Error::NotFound.into_response();
    }
    let target = format!("{}{}", proxy.writer, req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/"));
    let Ok(uri) = target.parse::<Uri>() else { return StatusCode::BAD_REQUEST.into_response() };
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let (mut parts, body) = req.into_parts();
    parts.uri = uri;
    parts.version = axum::http::Version::HTTP_11;
    strip(&mut parts.headers);
    parts.headers.remove(SECRET_HEADER);
    if let Some(ip) = peer {
        let forwarded = match parts.headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()) {
            Some(prev) => format!("{prev}, {ip}"),
            None => ip.to_string(),
        };
        if let Ok(v) = HeaderValue::from_str(&forwarded) {
            parts.headers.insert("x-forwarded-for", v);
        }
    }
    match proxy.http.request(Request::from_parts(parts, body)).await {
        Ok(res) => {
            let (mut parts, body) = res.into_parts();
            strip(&mut parts.headers);
            Response::from_parts(parts, Body::new(body))
        }
        Err(e) => {
            tracing::warn!(error = %e, "forwarding to the writer failed");
            (StatusCode::BAD_GATEWAY, "the writer is unreachable").into_response()
        }
    }
}
