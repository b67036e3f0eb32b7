//! `Date.now()` and `crypto.getRandomValues` adapters.

use std::cell::Cell;

use async_trait::async_trait;
use edge_ports::{Clock, Random, RandomError, Timer};
use worker::js_sys;
use worker::wasm_bindgen::{JsCast, JsValue};

/// `Date.now()`. On deployed Workers it advances only after I/O, which is the
/// platform's guard against timing attacks. Readings never go backwards.
#[derive(Debug, Default)]
pub struct WorkersClock {
    last: Cell<u64>,
}

impl WorkersClock {
    /// A new clock.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Clock for WorkersClock {
    fn now_ms(&self) -> u64 {
        let now = worker::Date::now().as_millis().max(self.last.get());
        self.last.set(now);
        now
    }
}

/// `crypto.getRandomValues` (a CSPRNG).
#[derive(Debug, Default, Clone, Copy)]
pub struct WorkersRandom;

/// `getRandomValues` fills at most 65,536 bytes per call.
const MAX_CHUNK: usize = 65_536;

impl Random for WorkersRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), RandomError> {
        let crypto = js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("crypto"))
            .map_err(|_| RandomError("globalThis.crypto is not available".into()))?;
        let get = js_sys::Reflect::get(&crypto, &JsValue::from_str("getRandomValues"))
            .ok()
            .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
            .ok_or_else(|| RandomError("crypto.getRandomValues is not a function".into()))?;
        for chunk in buf.chunks_mut(MAX_CHUNK) {
            let len = u32::try_from(chunk.len()).unwrap_or(u32::MAX);
            let array = js_sys::Uint8Array::new_with_length(len);
            get.call1(&crypto, &array)
                .map_err(|e| RandomError(format!("getRandomValues failed: {e:?}")))?;
            array.copy_to(chunk);
        }
        Ok(())
    }
}

/// `setTimeout`-backed sleeps (`worker::Delay`).
#[derive(Debug, Default, Clone, Copy)]
pub struct WorkersTimer;

#[async_trait(?Send)]
impl Timer for WorkersTimer {
    async fn sleep(&self, duration: std::time::Duration) {
        worker::Delay::from(duration).await;
    }
}
