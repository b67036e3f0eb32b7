//! Per-request context from the platform, the background-work hook and the
//! `Server-Timing` accumulator.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;

/// What the platform knows about the request (`request.cf` on Workers, the
/// socket natively).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestContext {
    /// ISO country (`XX` unknown, `T1` Tor).
    pub country: Option<String>,
    /// Continent code.
    pub continent: Option<String>,
    /// Colo (IATA code) or host name.
    pub colo: Option<String>,
    /// Region (`cf.region`).
    pub region: Option<String>,
    /// Autonomous system number.
    pub asn: Option<u32>,
    /// The client IP.
    pub client_ip: Option<String>,
    /// Request id (from the platform's ray id, or generated).
    pub request_id: String,
    /// Bot Management signal, when the plan provides it.
    pub bot_management: Option<zt_security::bot::BotManagement>,
    /// The client connected over HTTPS (adds `Strict-Transport-Security`).
    pub https: bool,
}

/// A boxed, non-`Send` background task.
pub type Task = Pin<Box<dyn Future<Output = ()>>>;

/// Where background work goes: `ctx.wait_until` on Workers, a local spawn
/// natively. SWR revalidation, analytics flushes, traces and security events
/// all go through it, so nothing the client waits for is slowed by them and
/// nothing is silently dropped when the response is sent.
pub trait WaitUntil {
    /// Runs `task` after (or while) the response is sent.
    fn wait_until(&self, task: Task);
}

/// Collects tasks; the caller runs them (tests, simple hosts).
#[derive(Default)]
pub struct CollectTasks {
    tasks: RefCell<Vec<Task>>,
}

impl std::fmt::Debug for CollectTasks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CollectTasks")
            .field("pending", &self.tasks.borrow().len())
            .finish()
    }
}

impl CollectTasks {
    /// An empty collector.
    pub fn new() -> Self {
        Self::default()
    }
    /// Runs every collected task (and tasks they add) to completion.
    pub async fn run_all(&self) {
        loop {
            let batch: Vec<Task> = std::mem::take(&mut *self.tasks.borrow_mut());
            if batch.is_empty() {
                return;
            }
            for t in batch {
                t.await;
            }
        }
    }
    /// Tasks waiting.
    pub fn pending(&self) -> usize {
        self.tasks.borrow().len()
    }
}

impl WaitUntil for CollectTasks {
    fn wait_until(&self, task: Task) {
        self.tasks.borrow_mut().push(task);
    }
}

/// One request's state on its way through the pipeline: what the platform
/// said about it, where background work goes, the stage timings and the
/// response headers the stages add.
pub(crate) struct Scope<'r> {
    pub(crate) ctx: &'r RequestContext,
    pub(crate) bg: &'r dyn WaitUntil,
    pub(crate) timings: Timings,
    /// Headers for the response (`RateLimit`, `X-Deployment`, …).
    pub(crate) headers: Vec<(&'static str, String)>,
    /// What the stages learned that the risk score weighs.
    pub(crate) signals: RiskSignals,
    /// The experiment arms the request was served in.
    pub(crate) arms: Vec<crate::experiments::apply::Arm>,
}

/// Signals collected by the stages for the risk score.
#[derive(Debug, Clone, Default)]
pub(crate) struct RiskSignals {
    /// The threat scan's anomaly score (prompt content included).
    pub(crate) threat_score: u32,
    /// The bot score (1 automated ..= 99 human).
    pub(crate) bot_score: Option<u8>,
    /// Share of the rate-limit quota used.
    pub(crate) quota_used: f64,
    /// The client holds a solved challenge (Turnstile clearance).
    pub(crate) cleared: bool,
}

impl<'r> Scope<'r> {
    pub(crate) fn new(ctx: &'r RequestContext, bg: &'r dyn WaitUntil) -> Self {
        Self {
            ctx,
            bg,
            timings: Timings::default(),
            headers: Vec::new(),
            signals: RiskSignals::default(),
            arms: Vec::new(),
        }
    }
}

/// `Server-Timing` entries, in stage order.
#[derive(Debug, Default)]
pub(crate) struct Timings {
    entries: Vec<(&'static str, u64, Option<String>)>,
}

impl Timings {
    pub(crate) fn push(&mut self, stage: &'static str, ms: u64) {
        self.entries.push((stage, ms, None));
    }
    /// A stage with a description (`threat;dur=1;desc="scan-truncated:bytes"`).
    pub(crate) fn push_with(&mut self, stage: &'static str, ms: u64, desc: &str) {
        // A quoted-string: no quotes, backslashes or controls inside.
        let desc: String = desc
            .chars()
            .filter(|c| !c.is_control() && *c != '"' && *c != '\\')
            .take(96)
            .collect();
        self.entries.push((stage, ms, Some(desc)));
    }
    pub(crate) fn header(&self) -> String {
        self.entries
            .iter()
            .map(|(n, d, desc)| match desc {
                Some(text) => format!("{n};dur={d};desc=\"{text}\""),
                None => format!("{n};dur={d}"),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}
