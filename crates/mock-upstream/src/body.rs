//! The response body: whole, framed (SSE, optionally paced) or truncated.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use tokio::time::Sleep;

/// Error that makes hyper drop the connection mid-response.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BodyError {
    /// A truncation fault fired.
    #[error("response truncated by fault injection")]
    Truncated,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Abort {
    /// End normally.
    No,
    /// Return `Pending` once (so hyper flushes what it has), then error.
    Armed,
    /// Error on the next poll.
    Now,
}

/// A response body of pre-rendered frames.
#[derive(Debug)]
pub(crate) struct MockBody {
    frames: VecDeque<Bytes>,
    exact_len: Option<u64>,
    delay: Duration,
    sleep: Option<Pin<Box<Sleep>>>,
    abort: Abort,
}

impl MockBody {
    /// A complete body of known length (hyper sets `content-length`).
    pub(crate) fn full(bytes: Bytes) -> Self {
        Self {
            exact_len: Some(bytes.len() as u64),
            frames: VecDeque::from([bytes]),
            delay: Duration::ZERO,
            sleep: None,
            abort: Abort::No,
        }
    }

    /// A body of unknown length sent frame by frame with `delay` between
    /// frames (chunked transfer encoding).
    pub(crate) fn frames(frames: Vec<Bytes>, delay: Duration) -> Self {
        Self {
            frames: frames.into(),
            exact_len: None,
            delay,
            sleep: None,
            abort: Abort::No,
        }
    }

    /// Like [`MockBody::frames`], but after the last frame is flushed the
    /// connection is dropped without finishing the message.
    pub(crate) fn truncated(frames: Vec<Bytes>, delay: Duration) -> Self {
        Self {
            abort: Abort::Armed,
            ..Self::frames(frames, delay)
        }
    }
}

impl Body for MockBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = self.get_mut();
        if let Some(sleep) = this.sleep.as_mut() {
            if sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            this.sleep = None;
        }
        if let Some(frame) = this.frames.pop_front() {
            if !this.delay.is_zero() && !this.frames.is_empty() {
                this.sleep = Some(Box::pin(tokio::time::sleep(this.delay)));
            }
            return Poll::Ready(Some(Ok(Frame::data(frame))));
        }
        match this.abort {
            Abort::No => Poll::Ready(None),
            Abort::Armed => {
                // hyper flushes its write buffer when the body is pending;
                // wake straight away so the abort follows the flush.
                this.abort = Abort::Now;
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            Abort::Now => {
                this.abort = Abort::No;
                Poll::Ready(Some(Err(BodyError::Truncated)))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.frames.is_empty() && self.sleep.is_none() && self.abort == Abort::No
    }

    fn size_hint(&self) -> SizeHint {
        match self.exact_len {
            Some(len) => SizeHint::with_exact(len),
            None => SizeHint::default(),
        }
    }
}
