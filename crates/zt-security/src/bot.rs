//! Bot scoring: Cloudflare's `botManagement` signal when the platform
//! provides it, documented header heuristics otherwise.
//!
//! Scores follow Cloudflare's scale: **1 = certainly automated, 99 =
//! certainly human**. The action thresholds default to Cloudflare's own
//! guidance (challenge below 30) with a hard block for known attack tools.
//!
//! # Heuristics (used only when `botManagement` is absent)
//!
//! | signal | score effect | reason |
//! |---|---|---|
//! | attack/scanner tool in `User-Agent` (sqlmap, nikto, nuclei, …) | score = 1 | `scanner_user_agent` |
//! | no `User-Agent` | −40 | `missing_user_agent` |
//! | unverified crawler claim (`Googlebot`, `bingbot`, …) | −35 | `unverified_crawler_claim` |
//! | HTTP library UA on a **browser** route (curl, python-requests, Go-http-client, …) | −30 | `http_library_on_browser_route` |
//! | browser UA without `Accept-Language` | −20 | `browser_without_accept_language` |
//! | browser UA without `Accept-Encoding` | −15 | `browser_without_accept_encoding` |
//! | Chromium UA ≥ 90 without `Sec-CH-UA` client hints | −15 | `chromium_without_client_hints` |
//! | `Sec-CH-UA` present but UA is not Chromium | −20 | `inconsistent_client_hints` |
//!
//! The heuristic starts at 70 (a plausible client) and is clamped to
//! `1..=99`. On **API** routes HTTP libraries and SDKs are the expected
//! clients, so only scanners, a missing UA and fake crawler claims count
//! there: an API gateway must not challenge the OpenAI SDK.
//!
//! Verified bots (from the platform only; a `User-Agent` claim is never
//! trusted) get [`BotAction::AllowRateLimited`]: allowed, but the caller
//! should rate-limit them under their own category.
//!
//! ```
//! use zt_security::bot::{BotAction, BotConfig, BotRequest, RouteClass, score_bot};
//!
//! let cfg = BotConfig::default();
//! let sdk = BotRequest { user_agent: Some("OpenAI/Python 1.54.0"), ..BotRequest::api() };
//! assert_eq!(score_bot(&cfg, &sdk).action, BotAction::Allow);
//!
//! let scanner = BotRequest { user_agent: Some("sqlmap/1.8#stable (https://sqlmap.org)"), ..BotRequest::api() };
//! let v = score_bot(&cfg, &scanner);
//! assert_eq!(v.action, BotAction::Block);
//! assert_eq!(v.reasons, vec!["scanner_user_agent"]);
//! ```

use serde::{Deserialize, Serialize};

/// `request.cf.botManagement` (Enterprise Bot Management only).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BotManagement {
    /// 1 (automated) ..= 99 (human).
    pub score: u8,
    /// Cloudflare-verified good bot (search engines, monitors).
    #[serde(default)]
    pub verified_bot: bool,
    /// JA3 TLS fingerprint.
    #[serde(default)]
    pub ja3_hash: Option<String>,
    /// JA4 TLS fingerprint.
    #[serde(default)]
    pub ja4: Option<String>,
}

/// Whether a route serves programmatic clients or browsers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RouteClass {
    /// JSON APIs: SDKs and HTTP libraries are legitimate clients.
    #[default]
    Api,
    /// Pages meant for browsers.
    Browser,
}

/// The request attributes bot scoring looks at.
#[derive(Debug, Clone, Copy, Default)]
pub struct BotRequest<'a> {
    /// The route's client class.
    pub route: RouteClass,
    /// `User-Agent`.
    pub user_agent: Option<&'a str>,
    /// `Accept-Language`.
    pub accept_language: Option<&'a str>,
    /// `Accept-Encoding`.
    pub accept_encoding: Option<&'a str>,
    /// `Sec-CH-UA`.
    pub sec_ch_ua: Option<&'a str>,
    /// The platform signal, when present.
    pub platform: Option<&'a BotManagement>,
}

impl BotRequest<'_> {
    /// An empty request on an API route.
    pub fn api() -> Self {
        Self::default()
    }
    /// An empty request on a browser route.
    pub fn browser() -> Self {
        Self {
            route: RouteClass::Browser,
            ..Self::default()
        }
    }
}

/// Thresholds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BotConfig {
    /// Scores below this are blocked (default 2: only certain automation).
    pub block_below: u8,
    /// Scores below this are challenged (default 30, Cloudflare's guidance).
    pub challenge_below: u8,
}

impl Default for BotConfig {
    fn default() -> Self {
        Self {
            block_below: 2,
            challenge_below: 30,
        }
    }
}

/// What to do with the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BotAction {
    /// Proceed.
    Allow,
    /// A verified bot: proceed under the bot rate-limit category.
    AllowRateLimited,
    /// Challenge (browser routes) or refuse with 403 (API routes cannot solve one).
    Challenge,
    /// Refuse (403).
    Block,
}

/// Where the score came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BotSource {
    /// `request.cf.botManagement`.
    Platform,
    /// The header heuristics above.
    Heuristic,
}

/// The bot decision with its reasons.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BotVerdict {
    /// 1 (automated) ..= 99 (human).
    pub score: u8,
    /// Platform-verified bot.
    pub verified_bot: bool,
    /// Where the score came from.
    pub source: BotSource,
    /// The action.
    pub action: BotAction,
    /// Stable reason codes (see the module table).
    pub reasons: Vec<&'static str>,
}

/// Attack and scanner tools: always automated, never legitimate on our routes.
const SCANNERS: &[&str] = &[
    "sqlmap",
    "nikto",
    "nuclei",
    "nmap",
    "masscan",
    "zgrab",
    "acunetix",
    "netsparker",
    "wpscan",
    "dirbuster",
    "gobuster",
    "feroxbuster",
    "ffuf",
    "wfuzz",
    "havij",
    "w3af",
    "openvas",
    "nessus",
    "burpcollaborator",
    "jaeles",
    "zmeu",
    "commix",
    "arachni",
    "appscan",
    "skipfish",
];

/// Crawlers that the platform can verify; a bare UA claim is spoofable.
const CRAWLERS: &[&str] = &[
    "googlebot",
    "bingbot",
    "applebot",
    "duckduckbot",
    "yandexbot",
    "baiduspider",
    "gptbot",
    "claudebot",
    "perplexitybot",
];

/// HTTP libraries and SDKs: fine on APIs, suspicious on browser routes.
const LIBRARIES: &[&str] = &[
    "curl/",
    "wget/",
    "python-requests",
    "python-urllib",
    "aiohttp",
    "httpx",
    "go-http-client",
    "okhttp",
    "java/",
    "apache-httpclient",
    "node-fetch",
    "axios",
    "undici",
    "libwww-perl",
    "reqwest",
    "openai/",
    "anthropic/",
];

/// Browser automation that names itself in the User-Agent.
const HEADLESS: &[&str] = &["headlesschrome", "phantomjs", "slimerjs"];

/// The score of self-declared headless browsers on browser routes: below
/// the default challenge threshold (30), above the block threshold.
const HEADLESS_SCORE: u8 = 25;

fn contains_any(haystack_lower: &str, needles: &[&str]) -> bool {
    needles.iter().any(|n| haystack_lower.contains(n))
}

fn is_browser_ua(ua_lower: &str) -> bool {
    ua_lower.starts_with("mozilla/")
        && (ua_lower.contains("chrome/")
            || ua_lower.contains("firefox/")
            || ua_lower.contains("safari/")
            || ua_lower.contains("edg/"))
}

/// The Chromium major version, if the UA claims Chrome/Edge/Opera.
fn chromium_major(ua_lower: &str) -> Option<u32> {
    let i = ua_lower.find("chrome/")?;
    let digits: String = ua_lower[i + 7..]
        .chars()
        .take_while(char::is_ascii_digit)
        .take(4)
        .collect();
    digits.parse().ok()
}

/// Scores a request and picks an action.
pub fn score_bot(config: &BotConfig, req: &BotRequest<'_>) -> BotVerdict {
    let ua_lower = req.user_agent.map(str::to_ascii_lowercase);
    // Scanner tools are blocked whatever the platform says: the platform
    // score describes the client, not the intent.
    if ua_lower
        .as_deref()
        .is_some_and(|u| contains_any(u, SCANNERS))
    {
        return BotVerdict {
            score: 1,
            verified_bot: false,
            source: req
                .platform
                .map_or(BotSource::Heuristic, |_| BotSource::Platform),
            action: BotAction::Block,
            reasons: vec!["scanner_user_agent"],
        };
    }
    // Headless Chrome (Puppeteer, Playwright) and PhantomJS say so: on a
    // browser route that is automation whatever else the request claims.
    if req.route == RouteClass::Browser
        && ua_lower
            .as_deref()
            .is_some_and(|u| contains_any(u, HEADLESS))
    {
        let score = req
            .platform
            .map_or(HEADLESS_SCORE, |p| p.score.clamp(1, 99).min(HEADLESS_SCORE));
        return BotVerdict {
            score,
            verified_bot: false,
            source: req
                .platform
                .map_or(BotSource::Heuristic, |_| BotSource::Platform),
            action: action_for(config, score),
            reasons: vec!["headless_browser"],
        };
    }
    if let Some(p) = req.platform {
        let score = p.score.clamp(1, 99);
        let action = if p.verified_bot {
            BotAction::AllowRateLimited
        } else {
            action_for(config, score)
        };
        let mut reasons = vec!["platform_bot_management"];
        if p.verified_bot {
            reasons.push("verified_bot");
        }
        return BotVerdict {
            score,
            verified_bot: p.verified_bot,
            source: BotSource::Platform,
            action,
            reasons,
        };
    }
    let (score, reasons) = heuristic_score(req, ua_lower.as_deref());
    BotVerdict {
        score,
        verified_bot: false,
        source: BotSource::Heuristic,
        action: action_for(config, score),
        reasons,
    }
}

fn action_for(config: &BotConfig, score: u8) -> BotAction {
    if score < config.block_below {
        BotAction::Block
    } else if score < config.challenge_below {
        BotAction::Challenge
    } else {
        BotAction::Allow
    }
}

fn heuristic_score(req: &BotRequest<'_>, ua: Option<&str>) -> (u8, Vec<&'static str>) {
    let mut score: i32 = 70;
    let mut reasons = Vec::new();
    let mut penalise = |points: i32, reason: &'static str| {
        score -= points;
        reasons.push(reason);
    };
    let Some(ua) = ua.filter(|u| !u.trim().is_empty()) else {
        penalise(40, "missing_user_agent");
        return (clamp(score), reasons);
    };
    if contains_any(ua, CRAWLERS) {
        penalise(35, "unverified_crawler_claim");
    }
    if req.route == RouteClass::Browser {
        if contains_any(ua, LIBRARIES) {
            penalise(30, "http_library_on_browser_route");
        }
        if is_browser_ua(ua) {
            if req.accept_language.is_none_or(|v| v.trim().is_empty()) {
                penalise(20, "browser_without_accept_language");
            }
            if req.accept_encoding.is_none_or(|v| v.trim().is_empty()) {
                penalise(15, "browser_without_accept_encoding");
            }
        }
        match (chromium_major(ua), req.sec_ch_ua) {
            (Some(v), None) if v >= 90 => penalise(15, "chromium_without_client_hints"),
            (None, Some(_)) => penalise(20, "inconsistent_client_hints"),
            _ => {}
        }
    }
    (clamp(score), reasons)
}

fn clamp(score: i32) -> u8 {
    u8::try_from(score.clamp(1, 99)).unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHROME: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

    fn browser(ua: &str) -> BotRequest<'_> {
        BotRequest {
            user_agent: Some(ua),
            accept_language: Some("en-GB,en;q=0.9"),
            accept_encoding: Some("gzip, br"),
            sec_ch_ua: Some("\"Chromium\";v=\"131\""),
            ..BotRequest::browser()
        }
    }

    #[test]
    fn real_browser_is_allowed_with_no_reasons() {
        let v = score_bot(&BotConfig::default(), &browser(CHROME));
        assert_eq!((v.score, v.action), (70, BotAction::Allow));
        assert!(v.reasons.is_empty());
    }

    #[test]
    fn self_declared_headless_chrome_is_challenged_even_with_full_headers() {
        let ua = CHROME.replace("Chrome/", "HeadlessChrome/");
        let v = score_bot(&BotConfig::default(), &browser(&ua));
        assert_eq!((v.score, v.action), (25, BotAction::Challenge));
        assert_eq!(v.reasons, ["headless_browser"]);
        // Whatever the platform score says.
        let platform = BotManagement {
            score: 99,
            verified_bot: false,
            ja3_hash: None,
            ja4: None,
        };
        let with_platform = BotRequest {
            platform: Some(&platform),
            ..browser(&ua)
        };
        let v = score_bot(&BotConfig::default(), &with_platform);
        assert_eq!((v.score, v.action), (25, BotAction::Challenge));
        // On an API route the same client is only scored, not challenged.
        let api = BotRequest {
            route: RouteClass::Api,
            ..browser(&ua)
        };
        assert_eq!(score_bot(&BotConfig::default(), &api).score, 70);
    }

    #[test]
    fn headless_looking_chrome_is_challenged() {
        let req = BotRequest {
            accept_language: None,
            sec_ch_ua: None,
            ..browser(CHROME)
        };
        let v = score_bot(&BotConfig::default(), &req);
        assert_eq!(v.score, 35);
        assert_eq!(
            v.reasons,
            [
                "browser_without_accept_language",
                "chromium_without_client_hints"
            ]
        );
        let req = BotRequest {
            accept_encoding: None,
            ..req
        };
        assert_eq!(
            score_bot(&BotConfig::default(), &req).action,
            BotAction::Challenge
        );
    }

    #[test]
    fn libraries_are_fine_on_api_but_not_on_browser_routes() {
        let api = BotRequest {
            user_agent: Some("curl/8.5.0"),
            ..BotRequest::api()
        };
        assert_eq!(
            score_bot(&BotConfig::default(), &api).action,
            BotAction::Allow
        );
        let page = BotRequest {
            route: RouteClass::Browser,
            ..api
        };
        let v = score_bot(&BotConfig::default(), &page);
        assert_eq!(v.score, 40);
        assert_eq!(v.reasons, ["http_library_on_browser_route"]);
    }

    #[test]
    fn missing_ua_and_fake_crawlers_are_challenged_even_on_api() {
        let cfg = BotConfig::default();
        let v = score_bot(&cfg, &BotRequest::api());
        assert_eq!((v.score, v.action), (30, BotAction::Allow));
        let fake = BotRequest {
            user_agent: Some("Mozilla/5.0 (compatible; Googlebot/2.1)"),
            ..BotRequest::api()
        };
        let v = score_bot(&cfg, &fake);
        assert_eq!(v.action, BotAction::Allow, "35 is above the challenge line");
        let strict = BotConfig {
            challenge_below: 40,
            ..cfg
        };
        assert_eq!(score_bot(&strict, &fake).action, BotAction::Challenge);
        assert_eq!(
            score_bot(&strict, &BotRequest::api()).action,
            BotAction::Challenge
        );
    }

    #[test]
    fn platform_signal_wins_and_verified_bots_are_rate_limited() {
        let cfg = BotConfig::default();
        let verified = BotManagement {
            score: 1,
            verified_bot: true,
            ..BotManagement::default()
        };
        let req = BotRequest {
            user_agent: Some("Googlebot/2.1"),
            platform: Some(&verified),
            ..BotRequest::api()
        };
        let v = score_bot(&cfg, &req);
        assert_eq!(v.action, BotAction::AllowRateLimited);
        assert_eq!(v.source, BotSource::Platform);
        let low = BotManagement {
            score: 12,
            ..BotManagement::default()
        };
        let req = BotRequest {
            platform: Some(&low),
            ..browser(CHROME)
        };
        assert_eq!(score_bot(&cfg, &req).action, BotAction::Challenge);
        let out_of_range = BotManagement {
            score: 0,
            ..BotManagement::default()
        };
        let req = BotRequest {
            platform: Some(&out_of_range),
            ..BotRequest::api()
        };
        assert_eq!(score_bot(&cfg, &req).score, 1);
    }

    #[test]
    fn scanners_are_blocked_even_with_a_good_platform_score() {
        let human = BotManagement {
            score: 95,
            ..BotManagement::default()
        };
        let req = BotRequest {
            user_agent: Some("Mozilla/5.0 nuclei - Open-source project"),
            platform: Some(&human),
            ..BotRequest::api()
        };
        assert_eq!(
            score_bot(&BotConfig::default(), &req).action,
            BotAction::Block
        );
    }

    #[test]
    fn non_ascii_user_agents_do_not_panic() {
        for ua in ["Chrome/", "Chrome/é", "Mozilla/5.0 Chrome/９９", "\u{0}"] {
            let _ = score_bot(&BotConfig::default(), &browser(ua));
        }
    }
}
