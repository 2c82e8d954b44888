//! A response body that streams a blob file in bounded chunks, so a blob of any size is
//! served without being read into memory.

use bytes::{Bytes, BytesMut};
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, ReadBuf};

/// Bytes read from the file per frame.
const CHUNK_BYTES: usize = 64 * 1024;

/// Streams `remaining_bytes` from a file's current position.
pub(crate) struct FileBody {
    file: tokio::fs::File,
    remaining_bytes: u64,
}

impl FileBody {
    pub(crate) fn new(file: tokio::fs::File, remaining_bytes: u64) -> FileBody {
        FileBody {
            file,
            remaining_bytes,
        }
    }
}

impl http_body::Body for FileBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, std::io::Error>>> {
        if self.remaining_bytes == 0 {
            return Poll::Ready(None);
        }
        let want = usize::try_from(self.remaining_bytes)
            .unwrap_or(CHUNK_BYTES)
            .min(CHUNK_BYTES);
        let mut buf = BytesMut::zeroed(want);
        let mut read = ReadBuf::new(&mut buf);
        match Pin::new(&mut self.file).poll_read(cx, &mut read) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e)) => Poll::Ready(Some(Err(e))),
            Poll::Ready(Ok(())) => {
                let n = read.filled().len();
                if n == 0 {
                    return Poll::Ready(Some(Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "blob file shorter than recorded",
                    ))));
                }
                buf.truncate(n);
                self.remaining_bytes -= n as u64;
                Poll::Ready(Some(Ok(http_body::Frame::data(buf.freeze()))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.remaining_bytes == 0
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.remaining_bytes)
    }
}
