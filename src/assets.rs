//! Static assets (CSS, JS, vendored libraries), embedded in the binary so it runs from any folder.
//! Served with an ETag; page URLs carry `?v=<hash of all assets>` and are cached for good.

use axum::{
    Router,
    extract::Path,
    http::{HeaderMap, HeaderValue, StatusCode, Uri, header},
    response::{IntoResponse, Response},
    routing::get,
};
use rust_embed::Embed;
use sha2::{Digest, Sha256};

use crate::state::AppState;

#[derive(Embed)]
#[folder = "assets/"]
struct Assets;

/// A short hash of every asset: changes whenever any of them does.
pub fn version() -> String {
    let mut h = Sha256::new();
    let mut names: Vec<_> = Assets::iter().collect();
    names.sort();
    for name in names {
        if let Some(f) = Assets::get(&name) {
            h.update(name.as_bytes());
            h.update(f.metadata.sha256_hash());
        }
    }
    hex::encode(h.finalize())[..12].to_owned()
}

pub fn router() -> Router<AppState> {
    Router::new().route("/assets/{*path}", get(serve))
}

async fn serve(Path(path): Path<String>, uri: Uri, headers: HeaderMap) -> Response {
    let Some(file) = Assets::get(&path) else { return StatusCode::NOT_FOUND.into_response() };
    let etag = format!("\"{}\"", hex::encode(&file.metadata.sha256_hash()[..12]));
    if headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) == Some(etag.as_str()) {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    let mime = mime_guess::from_path(&path).first_or_octet_stream();
    let mut res = file.data.into_owned().into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(mime.as_ref()).unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    // Versioned URLs (`?v=<hash>`) never change; plain ones (module imports) revalidate by ETag.
    let versioned = uri.query().is_some_and(|q| q.split('&').any(|kv| kv.starts_with("v=")));
    let cache = if versioned { "public, max-age=31536000, immutable" } else { "no-cache" };
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    res
}
