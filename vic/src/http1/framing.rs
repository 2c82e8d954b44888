//! The pieces of a response as bytes arrive: lines (bounded, CRLF or LF), a chunked body
//! (bounded chunk lines and total size, trailers dropped), and a body that runs to the end
//! of the connection.

use super::response::{CHUNKED, MAX_HEAD_BYTES, ReadError, ReadRules, reading};
use std::io;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncReadExt};

/// Longest chunk-size line.
const MAX_CHUNK_LINE: u64 = 1024;

/// One CRLF- (or LF-) terminated line, charged to `budget`; `None` at a clean end.
pub(super) async fn read_line<R: AsyncBufRead + Unpin>(
    r: &mut R,
    budget: &mut u64,
) -> io::Result<Option<String>> {
    let too_long = || io::Error::new(io::ErrorKind::InvalidData, "the response head is too long");
    let mut buf = Vec::new();
    let n = (&mut *r).take(*budget).read_until(b'\n', &mut buf).await?;
    if n == 0 {
        return if *budget == 0 {
            Err(too_long())
        } else {
            Ok(None)
        };
    }
    *budget = budget.saturating_sub(n as u64);
    if buf.last() != Some(&b'\n') {
        return Err(if *budget == 0 {
            too_long()
        } else {
            io::Error::new(
                io::ErrorKind::InvalidData,
                "the connection closed inside a line",
            )
        });
    }
    buf.pop();
    if buf.last() == Some(&b'\r') {
        buf.pop();
    }
    String::from_utf8(buf)
        .map(Some)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "a header line is not UTF-8"))
}

/// A line that must come: the end of the connection instead is [`ReadError::Protocol`]
/// (`eof`), a read error [`ReadError::Io`] (`what`).
pub(super) async fn required_line<R: AsyncBufRead + Unpin>(
    r: &mut R,
    budget: &mut u64,
    what: &'static str,
    eof: &'static str,
) -> Result<String, ReadError> {
    read_line(r, budget)
        .await
        .map_err(|source| ReadError::Io { what, source })?
        .ok_or(ReadError::Protocol(eof))
}

/// A chunked body, trailers read and dropped.
pub(super) async fn read_chunked<R: AsyncBufRead + Unpin>(
    r: &mut R,
    max_body: usize,
) -> Result<Vec<u8>, ReadError> {
    let fail = |source| ReadError::Io {
        what: CHUNKED,
        source,
    };
    let mut body = Vec::new();
    // Each turn reads one chunk; the body limit bounds the number of non-empty chunks, and
    // empty chunk-extension lines are not accepted, so the loop ends.
    loop {
        let mut budget = MAX_CHUNK_LINE;
        let eof = "the connection closed inside a chunked body";
        let line = required_line(r, &mut budget, CHUNKED, eof).await?;
        let size_text = line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| ReadError::Protocol("a bad chunk size"))?;
        if size == 0 {
            let mut budget = MAX_HEAD_BYTES;
            loop {
                let eof = "the connection closed inside the trailers";
                if required_line(r, &mut budget, CHUNKED, eof)
                    .await?
                    .is_empty()
                {
                    return Ok(body);
                }
            }
        }
        if body.len().saturating_add(size) > max_body {
            return Err(ReadError::TooLarge { limit: max_body });
        }
        let start = body.len();
        body.resize(start + size, 0);
        r.read_exact(&mut body[start..]).await.map_err(fail)?;
        let mut crlf = [0u8; 2];
        r.read_exact(&mut crlf).await.map_err(fail)?;
        if &crlf != b"\r\n" {
            return Err(ReadError::Protocol("a chunk not followed by CRLF"));
        }
    }
}

/// The body up to the end of the connection.
pub(super) async fn read_to_close<R: AsyncRead + Unpin>(
    r: &mut R,
    rules: ReadRules,
) -> Result<Vec<u8>, ReadError> {
    let mut body = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = match r.read(&mut chunk).await {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if rules.lenient_close && e.kind() == io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(reading(e)),
        };
        if body.len() + n > rules.max_body {
            return Err(ReadError::TooLarge {
                limit: rules.max_body,
            });
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Ok(body)
}
