//! The `/nfc/<ticket>/<file>` route: uploads (`PUT`/`POST`, as govmomi's `nfc.Lease.Upload`
//! sends a stream-optimized disk) and downloads (`GET`) of the files of an `HttpNfcLease`.
//!
//! The ticket in the path is the lease's secret (see `methods::vapp`): like vCenter's and
//! vcsim's NFC URLs, no session cookie is asked for. Bodies over
//! [`NFC_UPLOAD_MAX_BYTES`](crate::methods::vapp::NFC_UPLOAD_MAX_BYTES) answer 413; a full
//! emulated datastore answers 507, as the `/folder` handler does.

use super::Vcsim;
use crate::methods::vapp::{self, NFC_UPLOAD_MAX_BYTES, Transfer};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{Method as HttpMethod, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;

/// The routes, to merge into the server's router.
pub fn routes() -> Router<Vcsim> {
    Router::new().route(
        "/nfc/{ticket}/{file}",
        any(transfer).layer(DefaultBodyLimit::max(NFC_UPLOAD_MAX_BYTES)),
    )
}

async fn transfer(
    State(vc): State<Vcsim>,
    method: HttpMethod,
    Path((ticket, file)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let outcome = match method {
        HttpMethod::PUT | HttpMethod::POST => {
            let bytes = body.to_vec();
            vc.with(|emu| vapp::upload(emu, &ticket, &file, bytes))
        }
        HttpMethod::GET | HttpMethod::HEAD => vc.with(|emu| vapp::download(emu, &ticket, &file)),
        _ => return StatusCode::METHOD_NOT_ALLOWED.into_response(),
    };
    match outcome {
        Transfer::Stored { created: true } => StatusCode::CREATED.into_response(),
        Transfer::Stored { created: false } => StatusCode::OK.into_response(),
        Transfer::Bytes(b) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/octet-stream")],
            b,
        )
            .into_response(),
        Transfer::NotFound => {
            (StatusCode::NOT_FOUND, "no such NFC lease or file\n").into_response()
        }
        Transfer::Full => (
            StatusCode::INSUFFICIENT_STORAGE,
            "the emulator's datastore capacity is reached\n",
        )
            .into_response(),
        Transfer::WrongDirection => (
            StatusCode::METHOD_NOT_ALLOWED,
            "this lease's files go the other way\n",
        )
            .into_response(),
    }
}
